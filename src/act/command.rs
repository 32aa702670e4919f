//! `nbwatch start|stop|extend|delete INSTANCE`: find the instance (id or exact
//! name), ask (unless `--yes`), act once, and with `--wait` follow it to a
//! stable status. Exit codes: 0 done, 1 the service refused or the instance
//! did not reach the expected status, 2 bad usage (ambiguous or unknown
//! instance, no `--yes` without a terminal, read-only).

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use crate::api::actions::{self, Answer, Progress, Verb};
use crate::api::model::Notebook;
use crate::api::{ListQuery, RetryPolicy};
use crate::cli::ActionArgs;
use crate::config::Settings;
use crate::exit::{API as EXIT_API, CONFIG as EXIT_CONFIG};

use super::{Follow, audit_not_sent, follow, perform, status_label};

/// Runs one action command.
pub async fn run(
    settings: &Settings,
    query: &ListQuery,
    verb: Verb,
    args: &ActionArgs,
) -> ExitCode {
    match act(settings, query, verb, args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err((code, message)) => {
            if !message.is_empty() {
                eprintln!("nbwatch: {message}");
            }
            ExitCode::from(code)
        }
    }
}

pub(crate) type Fail = (u8, String);

fn usage(message: impl Into<String>) -> Fail {
    (EXIT_CONFIG, message.into())
}

async fn act(
    settings: &Settings,
    query: &ListQuery,
    verb: Verb,
    args: &ActionArgs,
) -> Result<(), Fail> {
    if settings.read_only {
        audit_not_sent(verb, &args.instance, "refused: read-only");
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
    if !args.yes && !interactive {
        return Err(usage(format!(
            "stdin is not a terminal, so nbwatch cannot ask before it {verb}s; fix: add --yes"
        )));
    }
    let (client, all) = list_all(settings, query).await?;
    let nb = pick(&all, &args.instance)?;
    let id = nb.id_str().to_string();
    let name = nb.name_str().to_string();
    let now = crate::timefmt::now_ms();

    if !args.yes {
        let status = nb.status_or_unknown();
        let question = match verb {
            Verb::Start => format!(
                "Start {name} ({id}, {status}) with auto-stop after {}? [y/N] ",
                crate::timefmt::written_ms(duration_ms.unwrap_or_default())
            ),
            Verb::Stop => format!("Stop {name} ({id}, {status})? [y/N] "),
            Verb::Extend => format!(
                "Extend the auto-stop of {name} ({id}): it will stop at {} (now + {})? [y/N] ",
                crate::timefmt::iso_utc(now + duration_ms.unwrap_or_default()),
                crate::timefmt::written_ms(duration_ms.unwrap_or_default())
            ),
            Verb::Delete => format!(
                "Delete {name} ({id}, {status})? This cannot be undone. Type its name to confirm: "
            ),
        };
        let answer = ask(&question).await;
        let yes = match verb {
            Verb::Delete => answer.trim_end_matches(['\r', '\n']) == name,
            _ => matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes"),
        };
        if !yes {
            audit_not_sent(verb, &id, "cancelled");
            return Err((
                EXIT_API,
                format!("{verb} of {name} cancelled: nothing sent"),
            ));
        }
    }

    let acted = match perform(&client, verb, &id, duration_ms).await {
        Ok(acted) => acted,
        Err(e) => {
            let (why, _) = super::failure(&client, verb, &id, &e).await;
            return Err((EXIT_API, format!("{name}: {verb} failed: {why}")));
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
    if !args.wait {
        return Ok(());
    }
    let goal = verb.goal();
    let how = Follow::every(settings.fast_interval);
    let (progress, status) = follow(&client, &id, &goal, how, |nb| {
        println!(
            "{}",
            status_label(nb.map(Notebook::status_or_unknown).as_ref())
        );
        let _ = std::io::stdout().flush();
    })
    .await
    .map_err(|e| {
        (
            EXIT_API,
            format!("{name}: following the {verb} failed: {e}"),
        )
    })?;
    super::audit_settled(
        verb,
        &id,
        progress,
        &status_label(status.as_ref()),
        acted.request_id.as_deref(),
    );
    match progress {
        Progress::Reached => Ok(()),
        Progress::Missed => Err((
            EXIT_API,
            format!(
                "{name}: {verb} did not reach {}: the instance is {}",
                goal.label(),
                status_label(status.as_ref())
            ),
        )),
        Progress::Moving => Err((
            EXIT_API,
            format!(
                "{name}: still {} after {} min; nbwatch stopped waiting",
                status_label(status.as_ref()),
                how.limit.as_secs() / 60
            ),
        )),
    }
}

/// A client for `settings` and every instance `query` lists: what [`pick`] chooses from.
pub(crate) async fn list_all(
    settings: &Settings,
    query: &ListQuery,
) -> Result<(crate::api::Client, Vec<Notebook>), Fail> {
    let client = settings
        .client(RetryPolicy::default())
        .map_err(|e| usage(e.to_string()))?;
    let listing = client
        .fetch_all(query)
        .await
        .map_err(|e| (EXIT_API, e.to_string()))?;
    Ok((client, listing.notebooks))
}

/// The instance `wanted` names: an id, else an exact name that only one has
/// (`nbwatch ssh` finds its instance with it too).
pub(crate) fn pick<'a>(all: &'a [Notebook], wanted: &str) -> Result<&'a Notebook, Fail> {
    if let Some(nb) = all.iter().find(|n| n.id.as_deref() == Some(wanted)) {
        return Ok(nb);
    }
    let named: Vec<&Notebook> = all
        .iter()
        .filter(|n| n.name.as_deref() == Some(wanted))
        .collect();
    match named.as_slice() {
        [one] => Ok(one),
        [] => Err(usage(format!(
            "no instance has the id or name '{wanted}'; fix: check it with `nbwatch list`"
        ))),
        many => {
            let mut msg = format!(
                "{} instances are named '{wanted}'; fix: give the id of one of them:",
                many.len()
            );
            for n in many {
                msg.push_str(&format!(
                    "\n  {}  {}  {}",
                    n.id_str(),
                    n.status_or_unknown(),
                    n.flavor.as_deref().unwrap_or("-")
                ));
            }
            Err(usage(msg))
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

    fn nb(id: &str, name: &str) -> Notebook {
        Notebook {
            id: Some(id.into()),
            name: Some(name.into()),
            ..Default::default()
        }
    }

    #[test]
    fn an_id_or_one_exact_name_picks_an_instance() {
        let all = [
            nb("a1", "train"),
            nb("b2", "dup"),
            nb("c3", "dup"),
            nb("d4", "Train"),
        ];
        assert_eq!(pick(&all, "a1").unwrap().id_str(), "a1");
        assert_eq!(pick(&all, "train").unwrap().id_str(), "a1");
        assert_eq!(pick(&all, "Train").unwrap().id_str(), "d4");
        let (code, msg) = pick(&all, "dup").unwrap_err();
        assert_eq!(code, EXIT_CONFIG);
        assert!(msg.contains("b2") && msg.contains("c3"), "{msg}");
        let (code, msg) = pick(&all, "tra").unwrap_err();
        assert_eq!(code, EXIT_CONFIG);
        assert!(msg.contains("no instance"), "{msg}");
    }
}
