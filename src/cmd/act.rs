//! `nbwatch start|stop|extend|delete INSTANCE…` (or with selectors instead of
//! names): find the instances on a complete listing, say what it would do
//! (`--dry-run` stops there), ask once (unless `--yes`), send each action
//! once with bounded concurrency inside the request budget, and with `--wait`
//! follow them all to a stable status. Exit codes: 0 every action done, 1 any
//! refused or not reaching the expected status (or the listing failed), 2 bad
//! usage (ambiguous or unknown instance, no match, no `--yes` without a
//! terminal, read-only).

use std::io::{IsTerminal, Write};

use tokio::sync::Semaphore;

use crate::act::select::{self, Pick, Target};
use crate::act::{Follow, audit_not_sent, follow_gated, perform, status_label};
use crate::api::actions::{self, Answer, Progress, Verb};
use crate::api::model::Notebook;
use crate::api::{Client, ListQuery, Listing, RetryPolicy};
use crate::cli::{ActionArgs, FilterArgs};
use crate::config::Settings;

use super::{CmdError, Kind};

fn usage(message: impl Into<String>) -> CmdError {
    CmdError::usage(message)
}

/// `1 instance`, `3 instances`.
fn count(n: usize) -> String {
    format!("{n} instance{}", if n == 1 { "" } else { "s" })
}

/// A client for `settings` and every instance `query` lists: what [`pick`]
/// chooses from (`nbwatch ssh` finds its instance this way too).
pub(crate) async fn list_all(
    settings: &Settings,
    query: &ListQuery,
) -> Result<(Client, Vec<Notebook>), CmdError> {
    let client = settings
        .client(RetryPolicy::default())
        .map_err(|e| usage(e.to_string()))?;
    let listing = client
        .fetch_all(query)
        .await
        .map_err(|e| CmdError::service(e.to_string()))?;
    Ok((client, listing.notebooks))
}

/// The instance `wanted` names: an id, else an exact name that only one has.
pub(crate) fn pick<'a>(all: &'a [Notebook], wanted: &str) -> Result<&'a Notebook, CmdError> {
    select::find(all, wanted).map_err(usage)
}

/// The client of an action command: the dashboard's request budget (the
/// selection's listing may use the first-sweep burst, as the dashboard's first
/// sweep does; actions and follow-ups always wait for the budget).
fn client(settings: &Settings) -> Result<Client, CmdError> {
    Ok(settings
        .client(RetryPolicy::default())
        .map_err(|e| usage(e.to_string()))?
        .with_rate_limit(Some(settings.budget_per_minute))
        .with_first_burst(settings.first_sweep_burst))
}

/// Runs one action command.
pub async fn run(
    settings: &Settings,
    query: &ListQuery,
    filters: &FilterArgs,
    verb: Verb,
    args: &ActionArgs,
) -> Result<(), CmdError> {
    let (list_query, pick) = select::pick(query, filters, &args.instances, |w| {
        eprintln!("nbwatch: warning: {w}");
        tracing::warn!("{w}");
    })
    .map_err(usage)?;
    let asked_for = match &pick {
        Pick::Named(names) => names.join(" "),
        Pick::Selected(m) => select::describe(&list_query, m),
    };
    if settings.read_only && !args.dry_run {
        audit_not_sent(verb, &asked_for, "refused: read-only");
        return Err(usage(format!(
            "read-only: {verb} refused, nothing sent; fix: drop --read-only, or read_only = true from profile '{}'",
            settings.profile
        )));
    }
    let duration_ms = match (&args.duration, verb.takes_duration()) {
        (Some(_), false) => {
            return Err(usage(format!(
                "--duration applies to start and extend, not {verb}"
            )));
        }
        (Some(d), true) => {
            Some(actions::parse_duration(d).map_err(|e| usage(format!("--duration {e}")))?)
        }
        (None, true) => Some(actions::DEFAULT_DURATION_MS),
        (None, false) => None,
    };
    let interactive = std::io::stdin().is_terminal();
    if !args.yes && !args.dry_run && !interactive {
        return Err(usage(format!(
            "stdin is not a terminal, so nbwatch cannot ask before it {verb}s; fix: add --yes (and try --dry-run first)"
        )));
    }
    let client = client(settings)?;
    let listing = client
        .fetch_all_kinds(&list_query)
        .await
        .map_err(|e| CmdError::service(e.to_string()))?;
    client.burst().end();
    let targets = checked_targets(verb, &listing, &pick)?;
    let acting: Vec<&Target> = targets.iter().filter(|t| t.acted_on()).collect();
    let skipped: Vec<&Target> = targets.iter().filter(|t| !t.acted_on()).collect();
    let no_match = || {
        if targets.is_empty() {
            usage(format!(
                "no instance matches {asked_for}; nothing sent; fix: check the selectors (nbwatch list shows what they match)"
            ))
        } else {
            usage(format!(
                "{} match {asked_for}, and {verb} applies to none of them; nothing sent",
                count(targets.len())
            ))
        }
    };

    if args.dry_run {
        let mut out = std::io::stdout().lock();
        for line in select::plan_lines(verb, &targets) {
            let _ = writeln!(out, "{line}");
        }
        let _ = out.flush();
        if acting.is_empty() {
            return Err(no_match());
        }
        let skips = match skipped.len() {
            0 => String::new(),
            n => format!(", skip {n}"),
        };
        eprintln!(
            "nbwatch: dry run: would {verb} {}{skips}; nothing sent",
            count(acting.len())
        );
        return Ok(());
    }
    for t in &skipped {
        eprintln!(
            "nbwatch: skipped {} ({}, {}): {}",
            t.nb.name_str(),
            t.nb.id_str(),
            t.nb.status_or_unknown(),
            t.refused.unwrap_or_default()
        );
    }
    if acting.is_empty() {
        return Err(no_match());
    }

    if !args.yes && !confirm(verb, &targets, &acting, duration_ms).await {
        for t in &acting {
            audit_not_sent(verb, t.nb.id_str(), "cancelled");
        }
        let what = match acting.as_slice() {
            [one] => one.nb.name_str().to_string(),
            many => count(many.len()),
        };
        return Err(CmdError::service(format!(
            "{verb} of {what} cancelled: nothing sent"
        )));
    }

    // Every request of the command (actions and follow-ups) waits for one of
    // these: at most `concurrency` in flight, each inside the budget.
    let gate = Semaphore::new(client.concurrency());
    let several = acting.len() > 1;
    let how = Follow::every(settings.fast_interval);
    let run = Run {
        client: &client,
        gate: &gate,
        verb,
        duration_ms,
        wait: args.wait.then_some(how),
        several,
    };
    let outcomes = futures::future::join_all(acting.iter().map(|t| run.one(&t.nb))).await;
    let failed = outcomes.iter().filter(|o| !o.ok).count();
    if several {
        let mut summary = format!(
            "{verb}: {} accepted, {failed} failed",
            outcomes.iter().filter(|o| o.accepted).count()
        );
        if let Some(how) = run.wait {
            let reached = outcomes.iter().filter(|o| o.ok).count();
            summary.push_str(&format!(
                ", {reached} reached {} (within {} min)",
                verb.goal().label(),
                how.limit.as_secs() / 60
            ));
        }
        if !skipped.is_empty() {
            summary.push_str(&format!(", {} skipped", skipped.len()));
        }
        eprintln!("nbwatch: {summary}");
    }
    if failed > 0 {
        return Err(CmdError::said(Kind::Service));
    }
    Ok(())
}

/// The targets of `pick` on `listing`. A selection needs the whole listing: on
/// one that could not be proved complete nothing is acted on (a named instance
/// found is found all the same).
fn checked_targets(verb: Verb, listing: &Listing, pick: &Pick) -> Result<Vec<Target>, CmdError> {
    let partial = || {
        format!(
            "the listing moved while it was read and could not be proved complete ({} seen); nbwatch does not act on a set that may be partial: nothing sent; fix: try again",
            count(listing.notebooks.len())
        )
    };
    match select::targets(verb, &listing.notebooks, pick) {
        Err(e) if !listing.complete => Err(CmdError::service(format!("{e}\n{}", partial()))),
        Err(e) => Err(usage(e)),
        Ok(_) if matches!(pick, Pick::Selected(_)) && !listing.complete => {
            Err(CmdError::service(partial()))
        }
        Ok(t) => Ok(t),
    }
}

/// Asks once: one instance as before (delete: type its name); several with
/// their list and the count (delete: type the count).
async fn confirm(
    verb: Verb,
    targets: &[Target],
    acting: &[&Target],
    duration_ms: Option<i64>,
) -> bool {
    let now = crate::timefmt::now_ms();
    let d = duration_ms.unwrap_or_default();
    let stops_at = || {
        format!(
            "{} (now + {})",
            crate::timefmt::iso_utc(now + d),
            crate::timefmt::written_ms(d)
        )
    };
    if let ([only], [nb]) = (targets, acting) {
        debug_assert_eq!(only.nb.id, nb.nb.id);
        let (name, id, status) = (nb.nb.name_str(), nb.nb.id_str(), nb.nb.status_or_unknown());
        let question = match verb {
            Verb::Start => format!(
                "Start {name} ({id}, {status}) with auto-stop after {}? [y/N] ",
                crate::timefmt::written_ms(d)
            ),
            Verb::Stop => format!("Stop {name} ({id}, {status})? [y/N] "),
            Verb::Extend => format!(
                "Extend the auto-stop of {name} ({id}): it will stop at {}? [y/N] ",
                stops_at()
            ),
            Verb::Delete => format!(
                "Delete {name} ({id}, {status})? This cannot be undone. Type its name to confirm: "
            ),
        };
        let answer = ask(&question).await;
        return match verb {
            Verb::Delete => answer.trim_end_matches(['\r', '\n']) == name,
            _ => is_yes(&answer),
        };
    }
    for line in select::plan_lines(verb, targets) {
        eprintln!("  {line}");
    }
    let n = count(acting.len());
    let question = match verb {
        Verb::Start => format!(
            "Start {n} with auto-stop after {}? [y/N] ",
            crate::timefmt::written_ms(d)
        ),
        Verb::Stop => format!("Stop {n}? [y/N] "),
        Verb::Extend => format!(
            "Extend the auto-stop of {n}: they will stop at {}? [y/N] ",
            stops_at()
        ),
        Verb::Delete => format!(
            "Delete {n}? This cannot be undone. Type {} to confirm: ",
            acting.len()
        ),
    };
    let answer = ask(&question).await;
    match verb {
        Verb::Delete => answer.trim() == acting.len().to_string(),
        _ => is_yes(&answer),
    }
}

fn is_yes(answer: &str) -> bool {
    matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes")
}

/// How one instance's action went.
struct Outcome {
    /// The service accepted the action.
    accepted: bool,
    /// Accepted, and with `--wait` the instance reached the goal.
    ok: bool,
}

/// What every instance's action shares.
struct Run<'a> {
    client: &'a Client,
    gate: &'a Semaphore,
    verb: Verb,
    duration_ms: Option<i64>,
    wait: Option<Follow>,
    /// Lines name their instance (one instance keeps the plain status lines).
    several: bool,
}

impl Run<'_> {
    /// Sends the action once (never again after it may have reached the
    /// service), prints the answer, and with `--wait` follows the instance.
    async fn one(&self, nb: &Notebook) -> Outcome {
        let (verb, id, name) = (self.verb, nb.id_str(), nb.name_str());
        let sent = {
            let _permit = self.gate.acquire().await.ok();
            perform(self.client, verb, id, self.duration_ms).await
        };
        let acted = match sent {
            Ok(a) => a,
            Err(e) => {
                // One that may have reached the service says so, with the status
                // read now; it is never sent again.
                let (why, _) = crate::act::failure(self.client, verb, id, &e).await;
                eprintln!("nbwatch: {name}: {verb} failed: {why}");
                return Outcome {
                    accepted: false,
                    ok: false,
                };
            }
        };
        let rid = acted
            .request_id
            .as_deref()
            .map(|r| format!(" (request id {r})"))
            .unwrap_or_default();
        match &acted.answer {
            Answer::Instance(nb) => println!(
                "{name}: {verb} accepted, now {}{rid}",
                nb.status_or_unknown()
            ),
            Answer::Lease(l) => match l.end_ms() {
                Some(end) => println!(
                    "{name}: extend accepted, auto-stop at {}{rid}",
                    crate::timefmt::iso_utc(end)
                ),
                None => println!("{name}: extend accepted, auto-stop off{rid}"),
            },
        }
        let _ = std::io::stdout().flush();
        let Some(how) = self.wait else {
            return Outcome {
                accepted: true,
                ok: true,
            };
        };
        let goal = verb.goal();
        let seen = |nb: Option<&Notebook>| {
            let status = status_label(nb.map(Notebook::status_or_unknown).as_ref());
            if self.several {
                println!("{name}: {status}");
            } else {
                println!("{status}");
            }
            let _ = std::io::stdout().flush();
        };
        let problem = match follow_gated(self.client, Some(self.gate), id, &goal, how, seen).await {
            Err(e) => Some(format!("{name}: following the {verb} failed: {e}")),
            Ok((progress, status)) => {
                crate::act::audit_settled(
                    verb,
                    id,
                    progress,
                    &status_label(status.as_ref()),
                    acted.request_id.as_deref(),
                );
                match progress {
                    Progress::Reached => None,
                    Progress::Missed => Some(format!(
                        "{name}: {verb} did not reach {}: the instance is {}",
                        goal.label(),
                        status_label(status.as_ref())
                    )),
                    Progress::Moving => Some(format!(
                        "{name}: still {} after {} min; nbwatch stopped waiting",
                        status_label(status.as_ref()),
                        how.limit.as_secs() / 60
                    )),
                }
            }
        };
        if let Some(p) = &problem {
            eprintln!("nbwatch: {p}");
        }
        Outcome {
            accepted: true,
            ok: problem.is_none(),
        }
    }
}

/// Asks on stderr, reads one line from stdin (empty on end of input).
async fn ask(question: &str) -> String {
    eprint!("{question}");
    let _ = std::io::stderr().flush();
    tokio::task::spawn_blocking(|| {
        let mut line = String::new();
        let _ = std::io::stdin().read_line(&mut line);
        line
    })
    .await
    .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::model::Status;

    #[test]
    fn a_selection_on_a_listing_not_proved_complete_acts_on_nothing() {
        let nb = |id: &str| Notebook {
            id: Some(id.into()),
            name: Some(format!("exp-{id}")),
            status: Some(Status::Running),
            ..Default::default()
        };
        let mut listing = Listing {
            notebooks: vec![nb("a1"), nb("b2")],
            complete: true,
            ..Default::default()
        };
        let selected = Pick::Selected(select::Matcher::default());
        let named = |n: &str| Pick::Named(vec![n.to_string()]);
        assert_eq!(
            checked_targets(Verb::Stop, &listing, &selected)
                .unwrap()
                .len(),
            2
        );
        listing.complete = false;
        let e = checked_targets(Verb::Stop, &listing, &selected).unwrap_err();
        let msg = e.message();
        assert_eq!(e.kind, Kind::Service);
        assert!(
            msg.contains("could not be proved complete (2 instances seen)"),
            "{msg}"
        );
        assert!(msg.contains("nothing sent"), "{msg}");
        // A named instance found is found; one not found may be in the part missed.
        assert_eq!(
            checked_targets(Verb::Stop, &listing, &named("b2"))
                .unwrap()
                .len(),
            1
        );
        let e = checked_targets(Verb::Stop, &listing, &named("c3")).unwrap_err();
        let msg = e.message();
        assert_eq!(e.kind, Kind::Service);
        assert!(msg.contains("no instance has the id or name 'c3'"), "{msg}");
        listing.complete = true;
        let e = checked_targets(Verb::Stop, &listing, &named("c3")).unwrap_err();
        assert_eq!(e.kind, Kind::Usage);
    }
}
