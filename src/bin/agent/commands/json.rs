//! `agent json` and `agent session json`: JSON that validates against a schema, or exit 4.

use std::path::PathBuf;

use anyhow::Result;
use serde_json::Value;

use agent::document::validate_id;
use agent::Error;

use super::drive::{drive, Plan};
use super::thoughts::Thoughts;
use super::{dry_run, open, Ctx};
use crate::choices::Format;
use crate::equip;
use crate::fields::{self, SchemaSource};
use crate::input;
use crate::output::write_out;
use crate::settings::{Json, JsonTurn};

/// `agent json --schema SCHEMA [PROMPT]...` and `agent session json ID ...`
pub(crate) async fn json(ctx: &Ctx, mut args: Json) -> Result<()> {
    if let Some(id) = args.session {
        if args.system.is_some() {
            return Err(Error::Usage(
                "--system cannot change a stored session's system prompt".into(),
            )
            .into());
        }
        return session_json(ctx, &id, &args.prompt, &mut args.json).await;
    }
    let (schema, prompt) = schema_and_prompt(ctx, &mut args.json, &args.prompt).await?;
    let ask = &args.json.turn.ask;
    let tools = equip::resolve(&ctx.settings, &ctx.out, &ask.tools)?;
    let session = open::ephemeral(ctx, &ask.call, args.system).await?;
    let mut session = equip::equip(&ctx.settings, &ctx.out, session, tools).await?;
    if args.json.turn.dry_run {
        return dry_run::print(
            ctx,
            &session,
            &prompt,
            &args.json.turn,
            Some(&schema),
            false,
        );
    }
    run(ctx, &mut session, &args.json, schema, prompt, false).await
}

async fn session_json(ctx: &Ctx, id: &str, prompt: &[String], opts: &mut JsonTurn) -> Result<()> {
    validate_id(id)?;
    let (schema, prompt) = schema_and_prompt(ctx, opts, prompt).await?;
    let turn = &opts.turn;
    if turn.dry_run {
        let tools = equip::resolve(&ctx.settings, &ctx.out, &turn.ask.tools)?;
        let session = dry_run::stored(ctx, id, &turn.ask, None)?;
        let session = equip::equip(&ctx.settings, &ctx.out, session, tools).await?;
        return dry_run::print(ctx, &session, &prompt, turn, Some(&schema), true);
    }
    let mut session = open::equipped(ctx, id, &turn.ask).await?;
    run(ctx, &mut session, opts, schema, prompt, true).await
}

/// Load and check the schema before anything else: a bad schema sends no request.
async fn schema_and_prompt(
    ctx: &Ctx,
    opts: &mut JsonTurn,
    prompt_args: &[String],
) -> Result<(Value, String)> {
    let source = fields::parse_source(&opts.schema).map_err(Error::Usage)?;
    let mut schema = match source {
        SchemaSource::Inline(v) | SchemaSource::Fields(v) => v,
        SchemaSource::Stdin => {
            if prompt_args.is_empty() {
                return Err(Error::Usage(
                    "--schema - reads stdin, so the prompt must come from arguments".into(),
                )
                .into());
            }
            fields::parse_document(&input::stdin().await?, "the schema on stdin")
                .map_err(Error::Usage)?
        }
        SchemaSource::File(path) => {
            let text = agent::limits::read_config_file(&path)
                .map_err(|e| Error::Usage(format!("cannot read schema {}: {e}", path.display())))?;
            fields::parse_document(&text, &path.display().to_string()).map_err(Error::Usage)?
        }
    };
    if opts.multi {
        schema = fields::multi(schema);
    }
    agent::schema::compile(&schema).map_err(Error::Usage)?;
    // `--schema -` took stdin: the prompt is the arguments.
    let read_stdin = opts.schema.trim() != "-" && !ctx.settings.no_stdin;
    let choice = &mut opts.turn.ask.attach;
    let prompt = crate::attach::prompt(prompt_args, read_stdin, &ctx.out, choice)
        .await?
        .text;
    Ok((schema, prompt))
}

async fn run(
    ctx: &Ctx,
    session: &mut agent::Session,
    opts: &JsonTurn,
    schema: Value,
    prompt: String,
    persist: bool,
) -> Result<()> {
    let plan = Plan {
        prompt,
        options: opts.turn.ask.run_options(),
        json: Some((schema, opts.retries)),
        format: opts.turn.format,
        persist,
        usage: opts.turn.ask.usage,
        thoughts: Thoughts::of(&opts.turn.ask),
    };
    let response = match drive(ctx, session, plan).await {
        Ok(r) => r,
        Err(err) => return Err(with_saved_reply(ctx, opts, err)),
    };
    if opts.turn.format == Format::Jsonl {
        return Ok(()); // the done event carried the value
    }
    let value = response.json.unwrap_or(Value::Null);
    let pretty = opts.pretty || ctx.out.stdout_tty;
    let mut text = Vec::new();
    let items = value
        .get("items")
        .and_then(Value::as_array)
        .filter(|_| opts.jsonl);
    match items {
        Some(items) => {
            for item in items {
                text.extend(serde_json::to_vec(item)?);
                text.push(b'\n');
            }
        }
        None if pretty => text.extend(serde_json::to_vec_pretty(&value)?),
        None => text.extend(serde_json::to_vec(&value)?),
    }
    if !text.ends_with(b"\n") {
        text.push(b'\n');
    }
    write_out(&text)?;
    Ok(())
}

/// On a validation failure, keep the last raw reply on disk and say where.
fn with_saved_reply(ctx: &Ctx, opts: &JsonTurn, err: anyhow::Error) -> anyhow::Error {
    let Some(Error::Validation { message, raw }) = err.downcast_ref::<Error>() else {
        return err;
    };
    let path = opts.save_invalid.clone().unwrap_or_else(|| {
        let stamp: String = agent::time::now()
            .chars()
            .filter(char::is_ascii_digit)
            .collect();
        ctx.settings
            .data_dir
            .join("invalid")
            .join(format!("{stamp}-{:04x}.txt", fastrand::u16(..)))
    });
    let saved = save_private(&path, raw);
    let note = match saved {
        Ok(()) => format!("the last reply was saved to {}", path.display()),
        Err(e) => format!(
            "the last reply could not be saved to {}: {e}",
            path.display()
        ),
    };
    Error::Validation {
        message: format!("{message}; {note}"),
        raw: raw.clone(),
    }
    .into()
}

fn save_private(path: &PathBuf, raw: &str) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
    }
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    std::io::Write::write_all(&mut f, raw.as_bytes())
}
