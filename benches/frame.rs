//! One dashboard frame (200×50, detail pane beside the table) with 10,000
//! instances, with and without a name filter; 60 instances as the baseline a
//! frame should not grow from (only visible rows are built).
//!
//! `cargo bench --bench frame` (CI smoke: `cargo bench --bench frame -- --test`).

// A bench that cannot set up stops with the reason.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use criterion::{Criterion, criterion_group, criterion_main};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use nbwatch::app::App;
use nbwatch::ui::{self, ViewContext};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use common::NOW;

fn ctx() -> ViewContext {
    ViewContext {
        profile: "team-a".into(),
        region: "cn-north-4".into(),
        project_id: "5e1f0c0a2b3d4e5f60718293a4b5c6d7".into(),
        endpoint: "https://modelarts.cn-north-4.myhuaweicloud.com".into(),
        ..ViewContext::default()
    }
}

fn key(app: &mut App, code: KeyCode) {
    app.handle_key(KeyEvent::new(code, KeyModifiers::NONE), NOW);
}

fn filtered(mut app: App, text: &str) -> App {
    key(&mut app, KeyCode::Char('/'));
    for c in text.chars() {
        key(&mut app, KeyCode::Char(c));
    }
    key(&mut app, KeyCode::Enter);
    app
}

fn bench_frame(c: &mut Criterion) {
    let ctx = ctx();
    let mut g = c.benchmark_group("frame_200x50");
    let cases = [
        ("10k_instances", common::app(10_000)),
        (
            "10k_instances_name_filter",
            filtered(common::app(10_000), "worker-01"),
        ),
        ("60_instances_baseline", common::app(60)),
    ];
    for (name, mut app) in cases {
        let mut term = Terminal::new(TestBackend::new(200, 50)).expect("test terminal");
        // One frame to settle the viewport, as the dashboard does on start.
        let mut vp = None;
        term.draw(|f| vp = Some(ui::draw(f, &app, &ctx, NOW)))
            .expect("draw");
        if let Some(v) = vp {
            app.set_viewport(v);
        }
        assert!(app.shown() > 0, "{name}: the table has rows");
        let mut now = NOW;
        g.bench_function(name, |b| {
            b.iter(|| {
                // Each frame a second later: the countdowns change, so the diff
                // against the previous frame is not empty.
                now += 1_000;
                term.draw(|f| {
                    std::hint::black_box(ui::draw(f, &app, &ctx, now));
                })
                .expect("draw");
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench_frame);
criterion_main!(benches);
