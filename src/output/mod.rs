//! One-shot output of `nbwatch list`: an aligned table, JSON or CSV.
//!
//! The whole listing is rendered into a buffer before anything is written, so a
//! failure never leaves half a table on stdout.

pub mod raw;
pub mod timeline;

use std::fmt::Write as _;

use serde_json::Value;
use unicode_width::UnicodeWidthStr;

use crate::api::model::{Notebook, mask_secret};
use crate::timefmt::{human_duration_ms, iso_utc};

/// How `nbwatch list` prints (`--output`; its words are in `crate::cli`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// Aligned columns for people.
    #[default]
    Table,
    /// One JSON array of instances as the service returned them (tokens masked).
    Json,
    /// RFC 4180 CSV with a header row.
    Csv,
}

/// Renders instances in `format` at `now_ms` (for ages and countdowns).
pub fn render(format: Format, notebooks: &[Notebook], now_ms: i64) -> String {
    match format {
        Format::Table => table(notebooks, None, now_ms),
        Format::Json => json(notebooks),
        Format::Csv => csv(notebooks, None),
    }
}

/// [`render`] for instances of several sources, `sources[i]` naming the source
/// of `notebooks[i]`: the table gains a SOURCE column and the CSV a `source`
/// column, both first. (JSON with sources is [`raw::write_json_sourced`].)
pub fn render_sourced(
    format: Format,
    notebooks: &[Notebook],
    sources: &[&str],
    now_ms: i64,
) -> String {
    match format {
        Format::Table => table(notebooks, Some(sources), now_ms),
        Format::Json => json(notebooks),
        Format::Csv => csv(notebooks, Some(sources)),
    }
}

/// A JSON array with every field the service sent, unknown ones included. The
/// notebook `token` is a credential, so it is masked here as everywhere else.
pub fn json(notebooks: &[Notebook]) -> String {
    let items: Vec<Value> = notebooks
        .iter()
        .map(|nb| {
            let mut v = serde_json::to_value(nb).unwrap_or(Value::Null);
            if let (Some(obj), Some(tok)) = (v.as_object_mut(), nb.token.as_deref()) {
                obj.insert("token".into(), Value::String(mask_secret(tok)));
            }
            v
        })
        .collect();
    let mut s = serde_json::to_string_pretty(&items).unwrap_or_else(|_| "[]".into());
    s.push('\n');
    s
}

fn lease_cell(nb: &Notebook, now_ms: i64) -> String {
    match &nb.lease {
        Some(l) if l.enabled() => match l.remaining_at(now_ms) {
            Some(r) if r > 0 => human_duration_ms(r),
            Some(_) => "due".into(),
            None => "on".into(),
        },
        Some(_) => "off".into(),
        None => "-".into(),
    }
}

fn table(notebooks: &[Notebook], sources: Option<&[&str]>, now_ms: i64) -> String {
    let mut header = vec![
        "NAME",
        "STATUS",
        "FEATURE",
        "FLAVOR",
        "IMAGE",
        "AGE",
        "AUTO-STOP",
        "ID",
    ];
    if sources.is_some() {
        header.insert(0, "SOURCE");
    }
    let rows: Vec<Vec<String>> = notebooks
        .iter()
        .enumerate()
        .map(|(i, nb)| {
            let mut row = vec![
                nb.name_str().to_string(),
                nb.status_or_unknown().to_string(),
                nb.feature.clone().unwrap_or_default(),
                nb.flavor.clone().unwrap_or_default(),
                nb.image.as_ref().map(|i| i.label()).unwrap_or_default(),
                nb.age_ms(now_ms)
                    .map(human_duration_ms)
                    .unwrap_or_else(|| "-".into()),
                lease_cell(nb, now_ms),
                nb.id_str().to_string(),
            ];
            if let Some(src) = sources {
                row.insert(0, src.get(i).copied().unwrap_or_default().to_string());
            }
            row
        })
        .collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.width()).collect();
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.width());
        }
    }
    let mut out = String::new();
    let mut line = |cells: &[&str]| {
        let mut l = String::new();
        for (i, (c, w)) in cells.iter().zip(&widths).enumerate() {
            l.push_str(c);
            if i + 1 < cells.len() {
                l.push_str(&" ".repeat(w - c.width() + 2));
            }
        }
        out.push_str(l.trim_end());
        out.push('\n');
    };
    line(&header);
    for r in &rows {
        line(&r.iter().map(String::as_str).collect::<Vec<_>>());
    }
    let _ = writeln!(
        out,
        "{} instance{}",
        rows.len(),
        if rows.len() == 1 { "" } else { "s" }
    );
    out
}

fn csv(notebooks: &[Notebook], sources: Option<&[&str]>) -> String {
    let mut header = vec![
        "id",
        "name",
        "status",
        "fail_reason",
        "feature",
        "flavor",
        "image",
        "image_type",
        "arch",
        "created_at",
        "updated_at",
        "auto_stop",
        "auto_stop_at",
        "workspace_id",
        "pool",
        "user",
        "description",
    ];
    if sources.is_some() {
        header.insert(0, "source");
    }
    let mut out = header.join(",");
    out.push_str("\r\n");
    for (i, nb) in notebooks.iter().enumerate() {
        let img = nb.image.as_ref();
        let mut cells = vec![
            nb.id_str().to_string(),
            nb.name_str().to_string(),
            nb.status_or_unknown().to_string(),
            nb.fail_reason.clone().unwrap_or_default(),
            nb.feature.clone().unwrap_or_default(),
            nb.flavor.clone().unwrap_or_default(),
            img.map(|i| i.label()).unwrap_or_default(),
            img.and_then(|i| i.kind.clone()).unwrap_or_default(),
            img.and_then(|i| i.arch.clone()).unwrap_or_default(),
            nb.create_at.map(iso_utc).unwrap_or_default(),
            nb.update_at.map(iso_utc).unwrap_or_default(),
            nb.lease
                .as_ref()
                .map(|l| l.enabled().to_string())
                .unwrap_or_default(),
            nb.lease_end_ms().map(iso_utc).unwrap_or_default(),
            nb.workspace_id.clone().unwrap_or_default(),
            nb.pool
                .as_ref()
                .and_then(|p| p.name.clone().or(p.id.clone()))
                .unwrap_or_default(),
            nb.user
                .as_ref()
                .and_then(|u| u.name.clone())
                .unwrap_or_default(),
            nb.description.clone().unwrap_or_default(),
        ];
        if let Some(src) = sources {
            cells.insert(0, src.get(i).copied().unwrap_or_default().to_string());
        }
        out.push_str(
            &cells
                .iter()
                .map(|c| csv_field(c))
                .collect::<Vec<_>>()
                .join(","),
        );
        out.push_str("\r\n");
    }
    out
}

/// Quotes a CSV field when it needs it. A leading `=`, `+`, `-` or `@` is prefixed
/// with `'` so a spreadsheet never runs an instance name as a formula.
///
/// Why not the `csv` crate: it quotes exactly as the last four lines here do, but
/// has no formula guard, and the guard must rewrite a field before it is quoted.
/// What the crate would replace is those four lines; not worth a dependency.
fn csv_field(s: &str) -> String {
    let guarded = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if guarded.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", guarded.replace('"', "\"\""))
    } else {
        guarded
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::model::{Image, Lease, NotebookPage, Status};

    fn sample() -> Vec<Notebook> {
        vec![
            Notebook {
                id: Some("id-1".into()),
                name: Some("训练-中文".into()),
                status: Some(Status::Running),
                feature: Some("NOTEBOOK".into()),
                flavor: Some("modelarts.vm.cpu.2u".into()),
                token: Some("58ba50c6-e8ff-245c-4840-49e51aa70737".into()),
                create_at: Some(1_000_000),
                image: Some(Image {
                    name: Some("pytorch".into()),
                    tag: Some("2.1".into()),
                    ..Default::default()
                }),
                lease: Some(Lease {
                    create_at: Some(1_000_000),
                    duration: Some(3_600_000),
                    enable: Some(true),
                    ..Default::default()
                }),
                description: Some("a, \"quoted\" one".into()),
                ..Default::default()
            },
            Notebook {
                id: Some("id-2".into()),
                name: Some("=cmd".into()),
                status: Some(Status::Unknown("HIBERNATING".into())),
                ..Default::default()
            },
        ]
    }

    #[test]
    fn table_aligns_wide_characters() {
        let t = table(&sample(), None, 1_000_000 + 600_000);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 4);
        let col = |l: &str| {
            l.find("RUNNING")
                .or(l.find("STATUS"))
                .or(l.find("HIBERNATING"))
                .map(|b| l[..b].width())
        };
        assert_eq!(col(lines[0]), col(lines[1]));
        assert_eq!(col(lines[0]), col(lines[2]));
        assert!(lines[1].contains("pytorch:2.1"));
        assert!(lines[1].contains("50m"), "{}", lines[1]);
        assert_eq!(lines[3], "2 instances");
        assert!(!t.contains("58ba50c6"));
    }

    #[test]
    fn json_keeps_unknown_fields_and_masks_tokens() {
        let raw = r#"{"data":[{"id":"a","token":"58ba50c6-e8ff-245c-4840-49e51aa70737","x_new":[1],"status":"HIBERNATING"}],"total":1}"#;
        let page: NotebookPage = serde_json::from_str(raw).unwrap();
        let out = json(&page.data);
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v[0]["x_new"], serde_json::json!([1]));
        assert_eq!(v[0]["status"], "HIBERNATING");
        assert_eq!(v[0]["token"], "••••••••0737");
        assert!(!out.contains("58ba50c6"));
    }

    #[test]
    fn several_sources_add_a_source_column_first_to_the_table_and_the_csv() {
        let t = table(&sample(), Some(&["bj", "singapore"]), 1_000_000);
        let lines: Vec<&str> = t.lines().collect();
        assert!(lines[0].starts_with("SOURCE     NAME"), "{}", lines[0]);
        assert!(lines[1].starts_with("bj         训练-中文"), "{}", lines[1]);
        assert!(lines[2].starts_with("singapore  =cmd"), "{}", lines[2]);
        let c = csv(&sample(), Some(&["bj", "=sg"]));
        let lines: Vec<&str> = c.split("\r\n").collect();
        assert!(lines[0].starts_with("source,id,name,"));
        assert!(lines[1].starts_with("bj,id-1,"));
        assert!(
            lines[2].starts_with("'=sg,id-2,"),
            "formula guard on the source too"
        );
        assert_eq!(
            render(Format::Csv, &sample(), 0),
            csv(&sample(), None),
            "one source: no column"
        );
    }

    #[test]
    fn csv_quotes_and_guards_formulas() {
        let c = csv(&sample(), None);
        let lines: Vec<&str> = c.split("\r\n").collect();
        assert!(lines[0].starts_with("id,name,status,"));
        assert!(
            lines[1].ends_with("\"a, \"\"quoted\"\" one\""),
            "{}",
            lines[1]
        );
        assert!(lines[2].starts_with("id-2,'=cmd,HIBERNATING,"));
    }
}
