//! `agent session show` and `export`: a session for people (a transcript) or for programs (the
//! stored document).

use anyhow::Result;

use agent::store::load_data;

use super::{history, Ctx};
use crate::choices::ShowFormat;
use crate::output::write_out;
use crate::settings::Show;
use crate::transcript::{self, Look};

/// `session show ID [--json] [--last N] [--format text|markdown|json]`
pub(crate) fn show(ctx: &Ctx, args: Show) -> Result<()> {
    if args.format == ShowFormat::Json {
        return export(ctx, &args.id);
    }
    let data = load_data(&*ctx.store()?, &args.id)?;
    let mut text = String::new();
    if args.all {
        text.push_str(&history::compacted(&data));
    }
    text.push_str(&match args.format {
        ShowFormat::Markdown => transcript::markdown(&data, args.last),
        _ => transcript::text(
            &data,
            args.last,
            Look {
                color: ctx.out.color,
                fold: ctx.out.stdout_tty,
            },
        ),
    });
    write_out(text.as_bytes())?;
    Ok(())
}

/// `session export ID`: the stored document, as stored.
pub(crate) fn export(ctx: &Ctx, id: &str) -> Result<()> {
    let store = ctx.store()?;
    let data = load_data(&*store, id)?;
    let mut bytes = serde_json::to_vec_pretty(&super::garbage::embed(&*store, &data)?)?;
    bytes.push(b'\n');
    write_out(&bytes)?;
    Ok(())
}
