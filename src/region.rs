//! ModelArts regions and their public endpoints, as the service documents them
//! (Huawei Cloud's "Regions and Endpoints" page for ModelArts).

/// Every region ModelArts serves, in the order the table lists them.
pub const REGIONS: &[&str] = &[
    "cn-north-1",
    "cn-north-2",
    "cn-north-4",
    "cn-north-9",
    "cn-north-11",
    "cn-north-12",
    "cn-south-1",
    "cn-east-3",
    "cn-east-4",
    "cn-southwest-2",
    "cn-southwest-3",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "la-south-2",
    "la-north-2",
    "af-south-1",
    "af-north-1",
    "tr-west-1",
    "me-east-1",
    "sa-brazil-1",
];

/// Regions whose endpoint lives under `.myhuaweicloud.cn` instead of `.myhuaweicloud.com`.
const CN_DOMAIN: &[&str] = &["ap-southeast-1"];

/// The public ModelArts endpoint of a known region (case-insensitive), without a trailing slash.
pub fn endpoint(region: &str) -> Option<String> {
    let region = canonical(region)?;
    let tld = if CN_DOMAIN.contains(&region) {
        "cn"
    } else {
        "com"
    };
    Some(format!("https://modelarts.{region}.myhuaweicloud.{tld}"))
}

/// The table spelling of a region name given in any case, if the region is known.
pub fn canonical(region: &str) -> Option<&'static str> {
    let wanted = region.trim();
    REGIONS
        .iter()
        .copied()
        .find(|r| r.eq_ignore_ascii_case(wanted))
}

/// The known region closest to a misspelt one, when it is close enough to be a likely typo.
pub fn nearest(region: &str) -> Option<&'static str> {
    closest(&region.trim().to_ascii_lowercase(), REGIONS.iter().copied())
}

/// The candidate with the smallest edit distance to `word`, if that distance looks like a typo
/// (at most a third of the word, and at least 1 or 2 edits allowed for short words).
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).max(2);
    candidates
        .into_iter()
        .map(|c| (edit_distance(word, c), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Levenshtein distance over chars, with adjacent transpositions counting as one edit
/// (`regoin` is one typo away from `region`).
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let w = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * w];
    for (i, row) in d.chunks_mut(w).enumerate() {
        row[0] = i;
    }
    for (j, cell) in d.iter_mut().take(w).enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[(i - 1) * w + j] + 1)
                .min(d[i * w + j - 1] + 1)
                .min(d[(i - 1) * w + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[(i - 2) * w + j - 2] + 1);
            }
            d[i * w + j] = v;
        }
    }
    d[a.len() * w + b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_region_maps_to_the_documented_host() {
        for r in REGIONS {
            let e = endpoint(r).unwrap();
            if *r == "ap-southeast-1" {
                assert_eq!(e, "https://modelarts.ap-southeast-1.myhuaweicloud.cn");
            } else {
                assert_eq!(e, format!("https://modelarts.{r}.myhuaweicloud.com"));
            }
        }
        assert_eq!(REGIONS.len(), 22);
    }

    #[test]
    fn region_names_are_case_insensitive() {
        assert_eq!(
            endpoint("CN-North-4").as_deref(),
            Some("https://modelarts.cn-north-4.myhuaweicloud.com")
        );
        assert_eq!(canonical(" AP-SOUTHEAST-1 "), Some("ap-southeast-1"));
    }

    #[test]
    fn unknown_regions_have_no_endpoint() {
        assert_eq!(endpoint("cn-north-5"), None);
        assert_eq!(endpoint("us-east-1"), None);
        assert_eq!(endpoint(""), None);
    }

    #[test]
    fn nearest_suggests_typos_only() {
        assert_eq!(nearest("cn-nort-4"), Some("cn-north-4"));
        assert_eq!(nearest("cn-north4"), Some("cn-north-4"));
        assert_eq!(nearest("ap-southeast1"), Some("ap-southeast-1"));
        assert_eq!(nearest("CN-EAST-3X"), Some("cn-east-3"));
        assert_eq!(nearest("us-west-2-gov-cloud-xyz"), None);
    }

    #[test]
    fn edit_distance_counts_transpositions_once() {
        assert_eq!(edit_distance("region", "region"), 0);
        assert_eq!(edit_distance("regoin", "region"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
