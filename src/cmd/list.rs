//! `nbwatch list`: every instance once, as a table, JSON as sent, or CSV;
//! all pages (and all sources) read before anything is printed.

use std::io::Write;

use crate::api::{Client, ListQuery, RetryPolicy};
use crate::cli::ListArgs;
use crate::config::{self, Settings};

use super::CmdError;

/// `nbwatch list` over one source or several.
pub async fn run(all: &[Settings], queries: &[ListQuery], args: &ListArgs) -> Result<(), CmdError> {
    match (all, queries) {
        ([one], [query]) => list(one, query, args).await,
        _ => list_several(all, queries, args).await,
    }
}

/// `nbwatch list --output json`: each instance's JSON text as the service sent
/// it (token masked), all pages read before anything is printed, both kinds
/// merged in the order asked.
async fn list_json(client: &Client, q: &ListQuery) -> Result<(), CmdError> {
    use crate::api::order::{ByListing, Order};
    use crate::output::raw::{RawNotebook, RawPage};
    let mut pages = ByListing::<RawNotebook>::default();
    match client
        .sweep_all_kinds::<RawPage, _>(q, crate::api::sweep::DEFAULT_OVERLAP, &mut pages)
        .await
    {
        Ok(report) if !report.complete => churned(None, report.total),
        Ok(report) => {
            let items = pages.into_merged(&Order::of(q));
            tracing::info!(
                instances = items.len(),
                requests = report.requests,
                "listed"
            );
            // Every page is in: only now does anything reach stdout.
            let mut stdout = std::io::BufWriter::new(std::io::stdout().lock());
            // A closed pipe (`| head`) is not an error worth a message.
            let _ = crate::output::raw::write_json(&mut stdout, &items);
            Ok(())
        }
        Err(e) => {
            tracing::error!(error = %e, "list failed");
            Err(CmdError::service(e.to_string()))
        }
    }
}

/// `nbwatch list`: every page, then the whole output at once (nothing half-printed).
async fn list(s: &Settings, q: &ListQuery, args: &ListArgs) -> Result<(), CmdError> {
    let client = s
        .client(RetryPolicy::default())
        .map_err(|e| CmdError::usage(e.to_string()))?;
    if args.output == crate::output::Format::Json {
        return list_json(&client, q).await;
    }
    match client.fetch_all_kinds(q).await {
        Ok(listing) if !listing.complete => churned(None, listing.total),
        Ok(listing) => {
            tracing::info!(
                instances = listing.notebooks.len(),
                requests = listing.requests,
                "listed"
            );
            let out =
                crate::output::render(args.output, &listing.notebooks, crate::timefmt::now_ms());
            let mut stdout = std::io::stdout().lock();
            if stdout
                .write_all(out.as_bytes())
                .and_then(|_| stdout.flush())
                .is_err()
            {
                // A closed pipe (`| head`) is not an error worth a message.
                return Ok(());
            }
            Ok(())
        }
        Err(e) => {
            tracing::error!(error = %e, "list failed");
            Err(CmdError::service(e.to_string()))
        }
    }
}

/// `nbwatch list` over several sources: all listed at once, each in full, then
/// everything printed together with its source named (a SOURCE column, a
/// `source` CSV column, a `"source"` JSON field). A source that fails fails the
/// listing, named, and nothing is printed: a partial list would look whole.
async fn list_several(
    all: &[Settings],
    queries: &[ListQuery],
    args: &ListArgs,
) -> Result<(), CmdError> {
    use crate::api::order::{ByListing, Order, merge_sources};
    use crate::output::raw::{RawNotebook, RawPage};
    // One listing in the order asked, across the sources too.
    let orders: Vec<Order> = queries.iter().map(Order::of).collect();
    let labels = config::source_labels(all);
    let mut clients = Vec::with_capacity(all.len());
    for (s, name) in all.iter().zip(&labels) {
        match s.client(RetryPolicy::default()) {
            Ok(c) => clients.push(c),
            Err(e) => return Err(CmdError::usage(format!("source `{name}`: {e}"))),
        }
    }
    let failed = |name: &str, e: &crate::api::ApiError| {
        tracing::error!(error = %e, source = name, "list failed");
        Err(CmdError::service(format!("source `{name}`: {e}")))
    };
    let mut names: Vec<&str> = Vec::new();
    let mut out = Vec::new();
    if args.output == crate::output::Format::Json {
        let swept =
            futures::future::join_all(clients.iter().zip(queries).map(|(c, q)| async move {
                let mut pages = ByListing::<RawNotebook>::default();
                c.sweep_all_kinds::<RawPage, _>(q, crate::api::sweep::DEFAULT_OVERLAP, &mut pages)
                    .await
                    .map(|r| (r, pages.into_merged(&Order::of(q))))
            }))
            .await;
        let mut each = Vec::with_capacity(swept.len());
        for (result, name) in swept.into_iter().zip(&labels) {
            match result {
                Ok((report, _)) if !report.complete => return churned(Some(name), report.total),
                Ok((_, got)) => each.push(got),
                Err(e) => return failed(name, &e),
            }
        }
        let mut items = Vec::new();
        for (i, item) in merge_sources(&orders, each) {
            names.push(labels.get(i).map_or("", String::as_str));
            items.push(item);
        }
        tracing::info!(instances = items.len(), sources = all.len(), "listed");
        let _ = crate::output::raw::write_json_sourced(&mut out, &items, &names);
    } else {
        let listed = futures::future::join_all(
            clients
                .iter()
                .zip(queries)
                .map(|(c, q)| c.fetch_all_kinds(q)),
        )
        .await;
        let mut each = Vec::with_capacity(listed.len());
        for (result, name) in listed.into_iter().zip(&labels) {
            match result {
                Ok(listing) if !listing.complete => return churned(Some(name), listing.total),
                Ok(listing) => each.push(listing.notebooks),
                Err(e) => return failed(name, &e),
            }
        }
        let mut notebooks = Vec::new();
        for (i, nb) in merge_sources(&orders, each) {
            names.push(labels.get(i).map_or("", String::as_str));
            notebooks.push(nb);
        }
        tracing::info!(instances = notebooks.len(), sources = all.len(), "listed");
        out = crate::output::render_sourced(
            args.output,
            &notebooks,
            &names,
            crate::timefmt::now_ms(),
        )
        .into_bytes();
    }
    // Every source is in: only now does anything reach stdout. A closed pipe
    // (`| head`) is not an error worth a message.
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(&out).and_then(|_| stdout.flush());
    Ok(())
}

/// A sweep that could not prove it missed nobody (the listing moved faster
/// than its repairs): `list` prints nothing and exits 1, never a partial
/// listing that looks whole.
fn churned(source: Option<&str>, total: Option<i64>) -> Result<(), CmdError> {
    let line = crate::api::sweep::incomplete_line(total);
    tracing::error!(source, "{line}");
    Err(CmdError::service(match source {
        Some(name) => format!("source `{name}`: {line}"),
        None => line,
    }))
}
