//! The one keymap: every binding is declared here once, with the action it
//! dispatches, its description and the context it applies in. Dispatch, the `?`
//! help screen and the hint bar are all generated from [`KEYMAP`], so help can
//! never drift from behaviour.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use crate::api::actions::Verb;

/// What a key does. `App::handle_key` maps each to a state change and effects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    Quit,
    Refresh,
    TogglePause,
    SlowerPolling,
    FasterPolling,
    CopyId,
    /// Copy the selected instance's ssh command.
    CopySsh,
    /// Open the selected instance's notebook URL in the browser.
    OpenUrl,
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    NextProblem,
    PrevProblem,
    SortNext,
    SortReverse,
    StartNameFilter,
    OpenStatusPicker,
    ToggleProblemsOnly,
    ToggleDetail,
    Back,
    Help,
    FilterKeep,
    FilterClear,
    FilterDelete,
    FilterType,
    PickerToggle,
    PickerAll,
    PickerApply,
    PickerCancel,
    CloseHelp,
    Trends,
    CloseTrends,
    /// Mark or unmark the selected row, then move down.
    ToggleMark,
    /// Mark every row the table shows.
    MarkShown,
    /// Act on the selected instance, or on the marked ones (asks for confirmation first).
    Act(Verb),
    ConfirmYes,
    ConfirmNo,
    ConfirmLonger,
    ConfirmShorter,
    ConfirmType,
    ConfirmBackspace,
    /// Open the view picker.
    OpenViews,
    ViewApply,
    ViewCancel,
}

/// Where a binding applies. A mode consults its contexts in order (see
/// [`contexts_for`]), so a key can mean different things in different places.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Context {
    /// Everywhere, even while typing.
    Always,
    /// The dashboard: table or full detail.
    Main,
    /// The instance table.
    Table,
    /// The full-screen detail view.
    Detail,
    /// Typing a name filter.
    Filter,
    /// The status picker.
    Picker,
    /// This help.
    Help,
    /// Status counts over time.
    Trends,
    /// Acting on the selected instance (table or full detail), or in the table
    /// on the marked ones when there are any. Hidden in read-only mode.
    Act,
    /// Confirming an action.
    Confirm,
    /// Confirming a deletion by typing the instance's name.
    ConfirmTyped,
    /// The view picker.
    Views,
}

impl Context {
    /// Help sections, in display order.
    pub const ALL: [Context; 12] = [
        Context::Main,
        Context::Act,
        Context::Table,
        Context::Detail,
        Context::Filter,
        Context::Picker,
        Context::Views,
        Context::Trends,
        Context::Confirm,
        Context::ConfirmTyped,
        Context::Help,
        Context::Always,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Context::Always => "Anywhere",
            Context::Main => "Dashboard",
            Context::Table => "Instance table",
            Context::Detail => "Full detail",
            Context::Filter => "Name filter (while typing)",
            Context::Picker => "Status picker",
            Context::Help => "Help",
            Context::Trends => "Trends",
            Context::Act => "Actions on the selected instance or the marked ones",
            Context::Confirm => "Confirming an action",
            Context::ConfirmTyped => "Confirming a deletion",
            Context::Views => "View picker",
        }
    }
}

/// One key as written in the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    /// A key with no Ctrl/Alt (Shift is implied by upper-case characters).
    Plain(KeyCode),
    Ctrl(char),
    /// Any printable character: text input.
    Text,
}

impl Key {
    pub fn matches(self, ev: &KeyEvent) -> bool {
        let ctrl_alt = ev
            .modifiers
            .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT);
        match self {
            Key::Plain(code) => !ctrl_alt && code == ev.code,
            Key::Ctrl(c) => {
                ev.modifiers.contains(KeyModifiers::CONTROL)
                    && matches!(ev.code, KeyCode::Char(x) if x.eq_ignore_ascii_case(&c))
            }
            Key::Text => !ctrl_alt && matches!(ev.code, KeyCode::Char(c) if !c.is_control()),
        }
    }

    /// How help and the hint bar spell the key.
    pub fn label(self) -> String {
        match self {
            Key::Plain(code) => match code {
                KeyCode::Char(' ') => "Space".into(),
                KeyCode::Char(c) => c.to_string(),
                KeyCode::Up => "↑".into(),
                KeyCode::Down => "↓".into(),
                KeyCode::Left => "←".into(),
                KeyCode::Right => "→".into(),
                KeyCode::PageUp => "PgUp".into(),
                KeyCode::PageDown => "PgDn".into(),
                KeyCode::Home => "Home".into(),
                KeyCode::End => "End".into(),
                KeyCode::Enter => "Enter".into(),
                KeyCode::Esc => "Esc".into(),
                KeyCode::Backspace => "Backspace".into(),
                KeyCode::Tab => "Tab".into(),
                other => format!("{other:?}"),
            },
            Key::Ctrl(c) => format!("Ctrl-{}", c.to_ascii_uppercase()),
            Key::Text => "text".into(),
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Binding {
    pub keys: &'static [Key],
    pub action: Action,
    pub context: Context,
    pub description: &'static str,
    /// The short word in the hint bar; `None` keeps it out of the bar.
    pub hint: Option<&'static str>,
}

const fn b(
    keys: &'static [Key],
    action: Action,
    context: Context,
    description: &'static str,
    hint: Option<&'static str>,
) -> Binding {
    Binding {
        keys,
        action,
        context,
        description,
        hint,
    }
}

use Action as A;
use Context as C;
use Key::{Ctrl, Plain as P};
use KeyCode as K;

/// Every key nbwatch understands. Order within a context is the order in help and
/// in the hint bar.
#[rustfmt::skip]
pub static KEYMAP: &[Binding] = &[
    b(&[Ctrl('c')],                                   A::Quit,               C::Always, "quit",                                 None),
    b(&[P(K::Char('q'))],                             A::Quit,               C::Main,   "quit",                                 Some("quit")),
    b(&[P(K::Char('?'))],                             A::Help,               C::Main,   "show all keys",                        Some("help")),
    b(&[P(K::Char('/'))],                             A::StartNameFilter,    C::Main,   "filter by name, live",                 Some("filter")),
    b(&[P(K::Char('s'))],                             A::OpenStatusPicker,   C::Main,   "filter by status",                     Some("status")),
    b(&[P(K::Char('!'))],                             A::ToggleProblemsOnly, C::Main,   "problems only: failed, frozen, stuck", Some("problems")),
    b(&[P(K::Char('n'))],                             A::NextProblem,        C::Main,   "jump to the next problem",             Some("next problem")),
    b(&[P(K::Char('N'))],                             A::PrevProblem,        C::Main,   "jump to the previous problem",         None),
    b(&[P(K::Char('o'))],                             A::SortNext,           C::Main,   "sort by the next column",              Some("sort")),
    b(&[P(K::Char('O'))],                             A::SortReverse,        C::Main,   "reverse the sort",                     None),
    b(&[P(K::Char('y'))],                             A::CopyId,             C::Main,   "copy the instance id (OSC 52)",        Some("copy id")),
    b(&[P(K::Char('c'))],                             A::CopySsh,            C::Main,   "copy its ssh command (OSC 52)",        None),
    b(&[P(K::Char('w'))],                             A::OpenUrl,            C::Main,   "open its notebook in the browser",     None),
    b(&[P(K::Char('r'))],                             A::Refresh,            C::Main,   "refresh now; resumes after a 401",     Some("refresh")),
    b(&[P(K::Char('p'))],                             A::TogglePause,        C::Main,   "pause / resume polling",               Some("pause")),
    b(&[P(K::Char('+')), P(K::Char('='))],            A::SlowerPolling,      C::Main,   "poll less often",                      None),
    b(&[P(K::Char('-'))],                             A::FasterPolling,      C::Main,   "poll more often",                      None),
    b(&[P(K::Char('t'))],                             A::Trends,             C::Main,   "status counts over time",              Some("trends")),
    b(&[P(K::Char('v'))],                             A::OpenViews,          C::Main,   "pick a saved view: filters, sort, columns", Some("views")),
    b(&[P(K::Char('S'))],                             A::Act(Verb::Start),   C::Act,    "start it (asks first; stopped instances)", Some("start")),
    b(&[P(K::Char('X'))],                             A::Act(Verb::Stop),    C::Act,    "stop it (asks first; running instances)",  Some("stop")),
    b(&[P(K::Char('E'))],                             A::Act(Verb::Extend),  C::Act,    "extend the auto-stop: 1 to 24 h from now", Some("extend")),
    b(&[P(K::Char('D'))],                             A::Act(Verb::Delete),  C::Act,    "delete it (type its name to confirm)",     Some("delete")),
    b(&[P(K::Char('j')), P(K::Down)],                 A::Down,               C::Table,  "move down",                            None),
    b(&[P(K::Char('k')), P(K::Up)],                   A::Up,                 C::Table,  "move up",                              None),
    b(&[P(K::PageDown), Ctrl('f')],                   A::PageDown,           C::Table,  "page down",                            None),
    b(&[P(K::PageUp), Ctrl('b')],                     A::PageUp,             C::Table,  "page up",                              None),
    b(&[P(K::Char('g')), P(K::Home)],                 A::Top,                C::Table,  "first row",                            None),
    b(&[P(K::Char('G')), P(K::End)],                  A::Bottom,             C::Table,  "last row",                             None),
    b(&[P(K::Enter)],                                 A::ToggleDetail,       C::Table,  "full-screen detail",                   Some("detail")),
    // Space marks, as it toggles in the status picker (and in mc, ranger, mutt…);
    // `*` marks what is shown, after the filters: mc's "select group" key, and
    // Ctrl-A is the prefix of screen and of many tmux setups.
    b(&[P(K::Char(' '))],                             A::ToggleMark,         C::Table,  "mark / unmark the row, then move down", None),
    b(&[P(K::Char('*'))],                             A::MarkShown,          C::Table,  "mark every row shown (after the filters)", None),
    // One Esc undoes one thing: the marks first, when there are any.
    b(&[P(K::Esc)],                                   A::Back,               C::Table,  "clear the marks; with none, all filters", None),
    b(&[P(K::Char('j')), P(K::Down)],                 A::Down,               C::Detail, "scroll down",                          None),
    b(&[P(K::Char('k')), P(K::Up)],                   A::Up,                 C::Detail, "scroll up",                            None),
    b(&[P(K::PageDown), Ctrl('f')],                   A::PageDown,           C::Detail, "page down",                            None),
    b(&[P(K::PageUp), Ctrl('b')],                     A::PageUp,             C::Detail, "page up",                              None),
    b(&[P(K::Char('g')), P(K::Home)],                 A::Top,                C::Detail, "top",                                  None),
    b(&[P(K::Char('G')), P(K::End)],                  A::Bottom,             C::Detail, "bottom",                               None),
    b(&[P(K::Esc), P(K::Enter)],                      A::Back,               C::Detail, "back to the table",                    Some("back")),
    b(&[P(K::Enter)],                                 A::FilterKeep,         C::Filter, "keep the filter",                      Some("keep")),
    b(&[P(K::Esc)],                                   A::FilterClear,        C::Filter, "clear the filter",                     Some("clear")),
    b(&[P(K::Backspace)],                             A::FilterDelete,       C::Filter, "delete a character",                   None),
    b(&[Key::Text],                                   A::FilterType,         C::Filter, "type: the table filters as you type",  None),
    b(&[P(K::Char('j')), P(K::Down)],                 A::Down,               C::Picker, "move down",                            None),
    b(&[P(K::Char('k')), P(K::Up)],                   A::Up,                 C::Picker, "move up",                              None),
    b(&[P(K::Char(' '))],                             A::PickerToggle,       C::Picker, "select / unselect a status",           Some("toggle")),
    b(&[P(K::Char('a'))],                             A::PickerAll,          C::Picker, "select none (= every status)",         Some("none")),
    b(&[P(K::Enter)],                                 A::PickerApply,        C::Picker, "apply",                                Some("apply")),
    b(&[P(K::Esc)],                                   A::PickerCancel,       C::Picker, "cancel",                               Some("cancel")),
    b(&[P(K::Char('j')), P(K::Down)],                 A::Down,               C::Views,  "move down",                            None),
    b(&[P(K::Char('k')), P(K::Up)],                   A::Up,                 C::Views,  "move up",                              None),
    b(&[P(K::Enter)],                                 A::ViewApply,          C::Views,  "apply the view",                       Some("apply")),
    b(&[P(K::Esc)],                                   A::ViewCancel,         C::Views,  "cancel",                               Some("cancel")),
    b(&[P(K::Esc), P(K::Char('t')), P(K::Char('q'))], A::CloseTrends,        C::Trends, "back to the table",                    Some("back")),
    b(&[P(K::Enter), P(K::Char('y'))],                A::ConfirmYes,         C::Confirm, "do it",                               Some("confirm")),
    b(&[P(K::Esc), P(K::Char('n'))],                  A::ConfirmNo,          C::Confirm, "cancel: nothing is sent",             Some("cancel")),
    b(&[P(K::Right), P(K::Char('l'))],                A::ConfirmLonger,      C::Confirm, "a longer duration",                   Some("longer")),
    b(&[P(K::Left), P(K::Char('h'))],                 A::ConfirmShorter,     C::Confirm, "a shorter duration",                  Some("shorter")),
    b(&[P(K::Enter)],                                 A::ConfirmYes,         C::ConfirmTyped, "delete, once the name (or number) is typed", Some("delete")),
    b(&[P(K::Esc)],                                   A::ConfirmNo,          C::ConfirmTyped, "cancel: nothing is sent",        Some("cancel")),
    b(&[P(K::Backspace)],                             A::ConfirmBackspace,   C::ConfirmTyped, "delete a character",             None),
    b(&[Key::Text],                                   A::ConfirmType,        C::ConfirmTyped, "type the name (of marked ones: how many)", None),
    b(&[P(K::Char('j')), P(K::Down)],                 A::Down,               C::Help,   "scroll down",                          None),
    b(&[P(K::Char('k')), P(K::Up)],                   A::Up,                 C::Help,   "scroll up",                            None),
    b(&[P(K::Esc), P(K::Char('?')), P(K::Char('q'))], A::CloseHelp,          C::Help,   "close help",                           Some("close")),
];

/// The contexts a mode consults, most specific first (also the hint-bar order).
/// No key is bound in two of them (a test checks), so the order never changes
/// what a key does.
pub fn contexts_for(mode: ModeKind) -> &'static [Context] {
    match mode {
        ModeKind::Table => &[C::Always, C::Table, C::Act, C::Main],
        ModeKind::Detail => &[C::Always, C::Detail, C::Act, C::Main],
        ModeKind::Confirm => &[C::Always, C::Confirm],
        ModeKind::ConfirmTyped => &[C::Always, C::ConfirmTyped],
        ModeKind::Filter => &[C::Always, C::Filter],
        ModeKind::Picker => &[C::Always, C::Picker],
        ModeKind::Help => &[C::Always, C::Help],
        ModeKind::Trends => &[C::Always, C::Trends],
        ModeKind::Views => &[C::Always, C::Views],
    }
}

/// The interaction mode, without its data: what the keymap needs to know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModeKind {
    Table,
    Detail,
    Filter,
    Picker,
    Help,
    Trends,
    Confirm,
    ConfirmTyped,
    Views,
}

/// The action bound to `ev` in `mode`, if any. Key releases are ignored.
pub fn lookup(mode: ModeKind, ev: &KeyEvent) -> Option<Action> {
    if ev.kind == KeyEventKind::Release {
        return None;
    }
    let ev = normalise(ev);
    contexts_for(mode).iter().find_map(|ctx| {
        KEYMAP
            .iter()
            .filter(|bnd| bnd.context == *ctx)
            .find(|bnd| bnd.keys.iter().any(|k| k.matches(&ev)))
            .map(|bnd| bnd.action)
    })
}

/// `Shift+g` reported as lower-case with SHIFT becomes `G`; SHIFT itself is then
/// dropped (it is already in the character).
fn normalise(ev: &KeyEvent) -> KeyEvent {
    let mut ev = *ev;
    if ev.modifiers.contains(KeyModifiers::SHIFT) {
        if let KeyCode::Char(c) = ev.code {
            ev.code = KeyCode::Char(c.to_ascii_uppercase());
        }
        ev.modifiers.remove(KeyModifiers::SHIFT);
    }
    ev
}

/// The bindings of one context, in table order.
pub fn bindings(context: Context) -> impl Iterator<Item = &'static Binding> {
    KEYMAP.iter().filter(move |bnd| bnd.context == context)
}

/// `j/↓`: every key of a binding, joined.
pub fn keys_label(bnd: &Binding) -> String {
    bnd.keys
        .iter()
        .map(|k| k.label())
        .collect::<Vec<_>>()
        .join("/")
}

/// The hint bar for a mode: (keys, word) pairs, most specific context first.
pub fn hints(mode: ModeKind) -> Vec<(String, &'static str)> {
    hints_where(mode, |_| true)
}

/// The hint bar for a mode, keeping only the bindings `keep` accepts (the state
/// leaves out actions that make no sense right now).
pub fn hints_where(mode: ModeKind, keep: impl Fn(&Binding) -> bool) -> Vec<(String, &'static str)> {
    contexts_for(mode)
        .iter()
        .flat_map(|ctx| bindings(*ctx))
        .filter(|bnd| keep(bnd))
        .filter_map(|bnd| bnd.hint.map(|h| (hint_keys(bnd), h)))
        .collect()
}

/// The key table of the README, generated from [`KEYMAP`] so the two never drift
/// (a test compares it with README.md).
pub fn markdown_table() -> String {
    let mut out = String::from("| where | keys | what they do |\n|---|---|---|\n");
    for ctx in Context::ALL {
        for bnd in bindings(ctx) {
            let keys = keys_label(bnd).replace('|', "\\|");
            out.push_str(&format!(
                "| {} | `{}` | {} |\n",
                ctx.title(),
                keys,
                bnd.description
            ));
        }
    }
    out
}

/// The hint bar shows only the first key of a binding, to stay short.
fn hint_keys(bnd: &Binding) -> String {
    bnd.keys.first().map(|k| k.label()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #[test]
    fn readme_key_table_is_generated_from_the_keymap() {
        let readme = include_str!("../../README.md");
        let start = readme.find("<!-- keys:start -->\n").map(|i| i + 20);
        let end = readme.find("<!-- keys:end -->");
        let (Some(start), Some(end)) = (start, end) else {
            panic!("README.md lacks the <!-- keys:start --> / <!-- keys:end --> markers");
        };
        let expected = super::markdown_table();
        assert!(
            readme[start..end] == expected,
            "README.md's key table is out of date; replace it with:\n{expected}"
        );
    }

    use super::*;
    use std::collections::HashSet;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn no_key_is_bound_twice_in_one_mode() {
        for mode in [
            ModeKind::Table,
            ModeKind::Detail,
            ModeKind::Filter,
            ModeKind::Picker,
            ModeKind::Help,
            ModeKind::Confirm,
            ModeKind::ConfirmTyped,
            ModeKind::Views,
        ] {
            let mut seen = HashSet::new();
            for ctx in contexts_for(mode) {
                for bnd in bindings(*ctx) {
                    for k in bnd.keys {
                        assert!(seen.insert(format!("{k:?}")), "{k:?} twice in {mode:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn lookup_follows_the_mode() {
        let q = key(KeyCode::Char('q'));
        assert_eq!(lookup(ModeKind::Table, &q), Some(Action::Quit));
        assert_eq!(lookup(ModeKind::Filter, &q), Some(Action::FilterType));
        assert_eq!(lookup(ModeKind::Help, &q), Some(Action::CloseHelp));
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        for mode in [ModeKind::Table, ModeKind::Filter, ModeKind::Picker] {
            assert_eq!(lookup(mode, &ctrl_c), Some(Action::Quit));
        }
        assert_eq!(
            lookup(ModeKind::Table, &key(KeyCode::Down)),
            Some(Action::Down)
        );
        assert_eq!(lookup(ModeKind::Table, &key(KeyCode::Char('x'))), None);
    }

    #[test]
    fn shifted_letters_match_either_spelling() {
        let upper = key(KeyCode::Char('G'));
        let shifted = KeyEvent::new(KeyCode::Char('g'), KeyModifiers::SHIFT);
        let both = KeyEvent::new(KeyCode::Char('G'), KeyModifiers::SHIFT);
        for ev in [upper, shifted, both] {
            assert_eq!(lookup(ModeKind::Table, &ev), Some(Action::Bottom), "{ev:?}");
        }
        // Alt-g is not g.
        let alt = KeyEvent::new(KeyCode::Char('g'), KeyModifiers::ALT);
        assert_eq!(lookup(ModeKind::Table, &alt), None);
    }

    #[test]
    fn releases_are_ignored() {
        let mut ev = key(KeyCode::Char('q'));
        ev.kind = KeyEventKind::Release;
        assert_eq!(lookup(ModeKind::Table, &ev), None);
    }

    #[test]
    fn hints_come_from_the_table() {
        let h = hints(ModeKind::Table);
        assert!(h.contains(&("q".to_string(), "quit")));
        assert!(h.contains(&("Enter".to_string(), "detail")));
        assert!(h.contains(&("/".to_string(), "filter")));
        let f = hints(ModeKind::Filter);
        assert_eq!(
            f,
            vec![("Enter".to_string(), "keep"), ("Esc".to_string(), "clear")]
        );
    }
}
