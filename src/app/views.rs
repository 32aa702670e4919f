//! Named views: a name filter, statuses, problems only, a sort and the table's
//! columns, applied together (`v` in the dashboard, `--view NAME` at start). The
//! config file defines them (`[views.NAME]`, see `config::views`); the state only
//! holds them and applies one, through the same filter and sort the keys change.

use super::{App, Filter, Mode, Sort, SortColumn};

/// One view, as the config file defines it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct View {
    pub name: String,
    /// Name filter, statuses and problems only, as `/`, `s` and `!` set them.
    pub filter: Filter,
    /// As `o` and `O` set it.
    pub sort: Sort,
    /// The table's columns, in order; `None` keeps the configured ones.
    pub columns: Option<Vec<SortColumn>>,
}

/// `v`: the views, then a last row for no view at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViewPicker {
    pub cursor: usize,
}

#[derive(Debug, Clone, Default)]
pub(super) struct ViewState {
    list: Vec<View>,
    /// The columns when no view chooses them: `columns` in the config file,
    /// else every column.
    columns: Vec<SortColumn>,
    current: Option<usize>,
}

impl App {
    /// The views to offer, and the table's columns when no view chooses them
    /// (empty for every column). Called before any data arrives.
    pub fn set_views(&mut self, views: Vec<View>, columns: Vec<SortColumn>) {
        self.views = ViewState {
            list: views,
            columns,
            current: None,
        };
    }

    pub fn views(&self) -> &[View] {
        &self.views.list
    }

    /// The view applied last, if any.
    pub fn current_view(&self) -> Option<&View> {
        self.views.list.get(self.views.current?)
    }

    /// The filter or sort have moved away from the current view's since it was applied.
    pub fn view_changed(&self) -> bool {
        self.current_view()
            .is_some_and(|v| v.filter != self.filter || v.sort != self.sort)
    }

    /// The table's columns, in order: the current view's, else the configured
    /// ones, else every column. (The table adds SOURCE when several sources
    /// are watched and leaves it out for one.)
    pub fn columns(&self) -> &[SortColumn] {
        let chosen = self
            .current_view()
            .and_then(|v| v.columns.as_deref())
            .unwrap_or(&self.views.columns);
        if chosen.is_empty() {
            &SortColumn::ALL
        } else {
            chosen
        }
    }

    /// Applies view `index` (its filter, sort and columns at once), or with
    /// `None` goes back to no view: no filter, the default sort, the configured
    /// columns. An index past the views does nothing.
    pub fn apply_view(&mut self, index: Option<usize>, now_ms: i64) {
        let (filter, sort) = match index {
            Some(i) => match self.views.list.get(i) {
                Some(v) => (v.filter.clone(), v.sort),
                None => return,
            },
            None => (Filter::default(), Sort::default()),
        };
        let neighbours = self.neighbour_places();
        let old_cursor = self.cursor;
        self.views.current = index;
        self.filter = filter;
        self.sort = sort;
        self.sort_changed(now_ms, &neighbours, old_cursor);
    }

    /// `v`: the picker, on the current view; a message when there is none to pick.
    pub(super) fn open_view_picker(&mut self, now_ms: i64) {
        if self.views.list.is_empty() {
            self.flash_message(
                "no views: add [views.NAME] tables to the config file (README: Views)",
                now_ms,
            );
            return;
        }
        let cursor = self.views.current.unwrap_or(0);
        self.mode = Mode::Views(ViewPicker { cursor });
    }

    /// Moves the picker's cursor over the views and the last "no view" row.
    pub(super) fn view_picker_step(&mut self, down: bool) {
        let last = self.views.list.len();
        if let Mode::Views(p) = &mut self.mode {
            p.cursor = if down {
                (p.cursor + 1).min(last)
            } else {
                p.cursor.saturating_sub(1)
            };
        }
    }

    /// Enter in the picker: applies the view under the cursor.
    pub(super) fn view_picker_apply(&mut self, now_ms: i64) {
        let Mode::Views(p) = std::mem::replace(&mut self.mode, Mode::Table) else {
            return;
        };
        let index = (p.cursor < self.views.list.len()).then_some(p.cursor);
        self.apply_view(index, now_ms);
        let message = match self.current_view() {
            Some(v) => format!("view {}", v.name),
            None => "no view: every instance, the default sort and columns".to_string(),
        };
        self.flash_message(message, now_ms);
    }
}

#[cfg(test)]
mod tests {
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

    use super::*;
    use crate::api::model::Status;
    use crate::app::fixtures::{self, NOW};

    fn press(app: &mut App, code: KeyCode) {
        app.handle_key(KeyEvent::new(code, KeyModifiers::NONE), NOW);
    }

    fn chr(app: &mut App, c: char) {
        press(app, KeyCode::Char(c));
    }

    fn names(app: &App) -> Vec<String> {
        app.rows(0, usize::MAX)
            .map(|t| t.name().to_string())
            .collect()
    }

    fn running_by_age() -> View {
        View {
            name: "running".into(),
            filter: Filter {
                statuses: [Status::Running].into_iter().collect(),
                ..Filter::default()
            },
            sort: Sort {
                column: SortColumn::Age,
                descending: true,
            },
            columns: Some(vec![SortColumn::Status, SortColumn::Name]),
        }
    }

    fn problems() -> View {
        View {
            name: "problems".into(),
            filter: Filter {
                problems_only: true,
                name: "e".into(),
                ..Filter::default()
            },
            sort: Sort::default(),
            columns: None,
        }
    }

    fn app() -> App {
        let mut app = App::new(fixtures::timing());
        app.set_views(
            vec![running_by_age(), problems()],
            vec![SortColumn::Name, SortColumn::Status, SortColumn::Lease],
        );
        app.sweep(fixtures::notebooks(), NOW);
        app
    }

    #[test]
    fn a_view_applies_its_filter_sort_and_columns_at_once() {
        let mut app = app();
        assert_eq!(app.current_view(), None);
        assert_eq!(
            app.columns(),
            [SortColumn::Name, SortColumn::Status, SortColumn::Lease],
            "the configured columns"
        );
        app.apply_view(Some(0), NOW);
        assert_eq!(app.current_view().map(|v| v.name.as_str()), Some("running"));
        assert_eq!(app.filter(), &running_by_age().filter);
        assert_eq!(app.sort(), running_by_age().sort);
        assert_eq!(app.columns(), [SortColumn::Status, SortColumn::Name]);
        let shown: Vec<Status> = app.rows(0, usize::MAX).map(|t| t.status.clone()).collect();
        assert!(!shown.is_empty());
        assert!(shown.iter().all(|s| *s == Status::Running), "{shown:?}");
        // Oldest first: the view sorts by age, descending.
        let ages: Vec<i64> = app
            .rows(0, usize::MAX)
            .filter_map(|t| t.row.create_at)
            .collect();
        assert!(ages.windows(2).all(|w| w[0] <= w[1]), "{ages:?}");
        assert!(!app.view_changed());

        // A view without columns keeps the configured ones; its filter replaces
        // the last view's whole (no status filter left behind).
        app.apply_view(Some(1), NOW);
        assert_eq!(
            app.columns(),
            [SortColumn::Name, SortColumn::Status, SortColumn::Lease]
        );
        assert!(app.filter().statuses.is_empty());
        assert!(app.filter().problems_only);
        assert_eq!(app.sort(), Sort::default());
        let stuck = app.stuck_after_ms();
        for t in app.rows(0, usize::MAX) {
            assert!(t.needs_attention(NOW, stuck) && t.name().contains('e'));
        }
    }

    #[test]
    fn changing_the_filter_or_sort_marks_the_view_changed() {
        let mut app = app();
        app.apply_view(Some(0), NOW);
        chr(&mut app, '!');
        assert!(app.view_changed());
        chr(&mut app, '!');
        assert!(!app.view_changed(), "back as the view set it");
        chr(&mut app, 'O');
        assert!(app.view_changed());
        // Esc clears the filters; the view's columns stay.
        press(&mut app, KeyCode::Esc);
        assert_eq!(app.columns(), [SortColumn::Status, SortColumn::Name]);
    }

    #[test]
    fn v_picks_a_view_and_the_last_row_goes_back_to_no_view() {
        let mut app = app();
        let all = names(&app);
        chr(&mut app, 'v');
        assert_eq!(app.mode(), &Mode::Views(ViewPicker { cursor: 0 }));
        chr(&mut app, 'j');
        chr(&mut app, 'j');
        chr(&mut app, 'j');
        assert_eq!(
            app.mode(),
            &Mode::Views(ViewPicker { cursor: 2 }),
            "stops on the last row"
        );
        chr(&mut app, 'k');
        press(&mut app, KeyCode::Enter);
        assert_eq!(app.mode(), &Mode::Table);
        assert_eq!(
            app.current_view().map(|v| v.name.as_str()),
            Some("problems")
        );
        assert_eq!(app.flash(NOW), Some("view problems"));
        assert!(names(&app).len() < all.len());

        // The picker opens on the current view; Esc changes nothing.
        chr(&mut app, 'v');
        assert_eq!(app.mode(), &Mode::Views(ViewPicker { cursor: 1 }));
        chr(&mut app, 'k');
        press(&mut app, KeyCode::Esc);
        assert_eq!(app.mode(), &Mode::Table);
        assert_eq!(
            app.current_view().map(|v| v.name.as_str()),
            Some("problems")
        );

        // "no view": every instance again, the default sort and columns.
        chr(&mut app, 'v');
        chr(&mut app, 'j');
        press(&mut app, KeyCode::Enter);
        assert_eq!(app.current_view(), None);
        assert_eq!(names(&app), all);
        assert_eq!(
            app.columns(),
            [SortColumn::Name, SortColumn::Status, SortColumn::Lease]
        );
    }

    #[test]
    fn without_views_v_says_how_to_add_one() {
        let mut app = App::new(fixtures::timing());
        app.sweep(fixtures::notebooks(), NOW);
        chr(&mut app, 'v');
        assert_eq!(app.mode(), &Mode::Table);
        assert!(app.flash(NOW).is_some_and(|m| m.contains("[views.NAME]")));
        assert_eq!(app.columns(), SortColumn::ALL, "every column by default");
        assert!(
            !app.key_hints().iter().any(|(_, h)| *h == "views"),
            "no hint for a key with nothing to pick"
        );
        assert!(self::app().key_hints().iter().any(|(_, h)| *h == "views"));
    }

    #[test]
    fn the_selection_stays_on_its_instance_when_it_is_in_the_view() {
        let mut app = app();
        let running = app
            .rows(0, usize::MAX)
            .find(|t| t.status == Status::Running && t.name() != names(&app)[0])
            .map(|t| t.key.clone())
            .unwrap();
        while app.selected_key() != Some(&running) {
            chr(&mut app, 'j');
        }
        app.apply_view(Some(0), NOW);
        assert_eq!(app.selected_key(), Some(&running));
        assert!(app.selected().is_some());
    }
}
