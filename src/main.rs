fn main() {
    println!("nbwatch: under construction");
}
