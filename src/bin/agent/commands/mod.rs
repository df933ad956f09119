//! One function per verb. Commands take resolved settings and plain options, never clap types.

mod api;
mod chat;
mod check;
mod copy;
mod ctx;
mod drive;
mod dry_run;
mod garbage;
mod generate;
mod history;
mod json;
mod keygen;
mod ls;
mod man_examples;
mod manage;
mod manual;
mod models;
mod naming;
mod open;
mod prune;
mod run;
mod servers;
mod show;
mod templates;
mod thoughts;
mod try_tool;

use anyhow::Result;

pub(crate) use ctx::Ctx;

use crate::choices::Format;
use crate::settings::Action;

/// `generate`, which needs no settings.
pub(crate) fn generate(action: Action) -> Result<()> {
    match action {
        Action::Completions { shell, dir } => generate::completions(shell, dir.as_deref()),
        Action::Man { dir } => generate::man(&dir),
        other => unreachable!("not a generate action: {other:?}"),
    }
}

pub(crate) async fn dispatch(ctx: &Ctx, mut action: Action) -> Result<()> {
    naming::resolve_last(ctx, &mut action)?;
    let takes_create = matches!(
        &action,
        Action::SessionRun(r) if r.create.is_none()
    ) || matches!(&action, Action::SessionChat(c) if c.create.is_none());
    let format = crate::failure::format_of(&action);
    let result = run(ctx, action).await.map_err(|e| {
        let missing = e
            .chain()
            .find_map(|c| match c.downcast_ref::<agent::Error>() {
                Some(agent::Error::SessionNotFound { id }) => Some(id.clone()),
                _ => None,
            });
        match missing.and_then(|id| naming::not_found_hint(ctx, takes_create, &id)) {
            Some(hint) => crate::exit::Hinted::wrap(e, hint),
            None => e,
        }
    });
    if let (Err(e), Some(Format::Json | Format::Jsonl)) = (&result, format) {
        if !crate::exit::is_broken_pipe(e) {
            let id = ctx
                .turn_session
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone();
            // stdout may be closed; the error still goes to stderr.
            let _ = crate::output::write_json_line(&crate::failure::object(e, id.as_deref()));
        }
    }
    result
}

async fn run(ctx: &Ctx, action: Action) -> Result<()> {
    match action {
        Action::Template { what, dir } => templates::query(what, dir.as_deref()),
        Action::Run(a) => run::run(ctx, a).await,
        Action::SessionRun(a) => run::session_run(ctx, a).await,
        Action::Retry { id, turn, force } => run::retry(ctx, &id, turn, force).await,
        Action::Json(a) => json::json(ctx, a).await,
        Action::Chat(a) => chat::new_chat(ctx, a).await,
        Action::SessionChat(a) => chat::session_chat(ctx, a).await,
        Action::Models { call } => models::list(ctx, &call).await,
        Action::ToolTest(a) => try_tool::test(ctx, a).await,
        Action::McpLs { json } => servers::ls(ctx, json),
        Action::McpTools { server, json } => servers::tools(ctx, &server, json).await,
        Action::New(a) => manage::new(ctx, a).await,
        Action::Fork { src, id, at } => manage::fork(ctx, &src, id.as_deref(), at).await,
        Action::Show(a) => show::show(ctx, a),
        Action::Ls(a) => ls::ls(ctx, a),
        Action::Rm(a) => manage::rm(ctx, a).await,
        Action::Clear { id } => manage::clear(ctx, &id).await,
        Action::Add { id, role, text } => manage::add(ctx, &id, role, text).await,
        Action::Export { id } => show::export(ctx, &id),
        Action::Import { file, force } => manage::import(ctx, &file, force).await,
        Action::Rename { id, title } => manage::rename(ctx, &id, &title).await,
        Action::Stats { id, json } => history::stats(ctx, &id, json),
        Action::Compact(a) => history::compact(ctx, a).await,
        Action::Undo { id, n } => history::undo(ctx, &id, n).await,
        Action::StoreCopy(a) => copy::copy(ctx, a).await,
        Action::StoreCheck { url, migrate } => check::check(ctx, url.as_deref(), migrate).await,
        Action::Keygen => keygen::keygen(),
        Action::Prune(a) => prune::prune(ctx, a).await,
        Action::Completions { .. } | Action::Man { .. } => {
            unreachable!("generate runs before settings are resolved")
        }
    }
}
