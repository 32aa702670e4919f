//! Snapshots of the view picker and of a table with chosen columns.

use super::tests::{View as Screen, find, key, loaded, snap, text, two_sources};
use crate::api::model::Status;
use crate::app::fixtures::NOW;
use crate::app::{App, Filter, Sort, SortColumn, View};

fn views() -> Vec<View> {
    vec![
        View {
            name: "failing".into(),
            filter: Filter {
                problems_only: true,
                ..Filter::default()
            },
            sort: Sort {
                column: SortColumn::InStatus,
                descending: true,
            },
            columns: Some(vec![
                SortColumn::Name,
                SortColumn::Status,
                SortColumn::InStatus,
                SortColumn::Flavor,
            ]),
        },
        View {
            name: "training".into(),
            filter: Filter {
                name: "train".into(),
                statuses: [Status::Running, Status::Starting].into_iter().collect(),
                ..Filter::default()
            },
            sort: Sort {
                column: SortColumn::Lease,
                descending: false,
            },
            columns: None,
        },
    ]
}

/// The header line of the table (the one with the column titles).
fn header(app: &mut App, w: u16, h: u16) -> String {
    let term = Screen::new(NOW).render(app, w, h);
    let all = text(term.backend().buffer());
    all.lines()
        .find(|l| l.contains("NAME"))
        .unwrap_or_default()
        .to_string()
}

#[test]
fn view_picker_80x24() {
    let mut app = loaded();
    app.set_views(views(), Vec::new());
    app.apply_view(Some(1), NOW);
    key(&mut app, 'v');
    key(&mut app, 'k');
    let term = Screen::new(NOW).render(&mut app, 80, 24);
    snap("view_picker_80x24", &term);
    let buf = term.backend().buffer();
    find(buf, "▸ failing");
    find(buf, "problems only · sort in_status ▼ · name, status");
    find(buf, "no view");
}

#[test]
fn a_view_s_columns_in_its_order_and_its_name_in_the_title_80x24() {
    let mut app = loaded();
    app.set_views(views(), Vec::new());
    app.apply_view(Some(0), NOW);
    let term = Screen::new(NOW).render(&mut app, 80, 24);
    snap("view_columns_80x24", &term);
    let all = text(term.backend().buffer());
    assert!(all.contains("· view failing "), "{all}");
    let h = all.lines().find(|l| l.contains("NAME")).unwrap();
    let at = |t: &str| h.find(t).unwrap_or_else(|| panic!("{t} not in {h}"));
    assert!(at("NAME") < at("STATUS") && at("STATUS") < at("IN STATUS"));
    assert!(at("IN STATUS") < at("FLAVOR"), "{h}");
    assert!(!h.contains("LEASE") && !h.contains("AGE"), "{h}");
    // Changed since it was applied: the title says so.
    key(&mut app, 'O');
    let term = Screen::new(NOW).render(&mut app, 80, 24);
    assert!(text(term.backend().buffer()).contains("view failing (changed)"));
}

#[test]
fn configured_columns_keep_their_order_and_still_drop_on_narrow_terminals() {
    let mut app = loaded();
    let order = vec![
        SortColumn::Image,
        SortColumn::Lease,
        SortColumn::Status,
        SortColumn::Name,
    ];
    app.set_views(Vec::new(), order);
    let wide = header(&mut app, 200, 50);
    let at = |h: &str, t: &str| h.find(t);
    assert!(
        at(&wide, "IMAGE") < at(&wide, "LEASE")
            && at(&wide, "LEASE") < at(&wide, "STATUS")
            && at(&wide, "STATUS") < at(&wide, "NAME"),
        "{wide}"
    );
    assert!(!wide.contains("FLAVOR"), "{wide}");
    // 50 columns: the image goes first, as with every column.
    let narrow = header(&mut app, 50, 24);
    assert!(!narrow.contains("IMAGE"), "{narrow}");
    assert!(
        narrow.contains("STATUS") && narrow.contains("NAME"),
        "{narrow}"
    );
}

#[test]
fn several_sources_keep_the_source_column_whatever_the_columns_say() {
    let mut app = two_sources();
    app.set_views(Vec::new(), vec![SortColumn::Status, SortColumn::Name]);
    let h = header(&mut app, 80, 24);
    assert!(h.find("SOURCE") < h.find("STATUS"), "{h}");
    // Placed where the list puts it, when it does.
    app.set_views(
        Vec::new(),
        vec![SortColumn::Name, SortColumn::Source, SortColumn::Status],
    );
    let h = header(&mut app, 80, 24);
    assert!(h.find("NAME") < h.find("SOURCE"), "{h}");
    // One source: no SOURCE column even when listed.
    let mut one = loaded();
    one.set_views(Vec::new(), vec![SortColumn::Source, SortColumn::Name]);
    assert!(!header(&mut one, 80, 24).contains("SOURCE"));
}
