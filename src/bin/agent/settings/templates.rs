//! `--template`: what a template gives, filled into the flags a command was given before they
//! are resolved, so a flag given explicitly wins and the template beats env and config alike.

use std::path::Path;

use agent::Error;

use crate::cli::{self, Command, ExchangeArgs, SessionCommand, TemplateFill};
use crate::template::{self, Template};

/// Read the template a command names and fill in what its flags leave unset.
pub(super) fn apply(command: &mut Command, dir: Option<&Path>) -> agent::Result<()> {
    match command {
        Command::Run(a) => {
            let stored = a.session.is_some() || a.continue_last;
            let system = (!stored).then_some(&mut a.system);
            exchange(&mut a.turn.exchange, system, None, dir)
        }
        Command::Json(a) => {
            let stored = a.session.is_some() || a.continue_last;
            let system = (!stored).then_some(&mut a.system);
            exchange(
                &mut a.json.turn.exchange,
                system,
                Some(&mut a.json.schema),
                dir,
            )
        }
        Command::Chat(a) => {
            let system = (!a.continue_last).then_some(&mut a.system);
            exchange(&mut a.chat, system, None, dir)
        }
        Command::Session(SessionCommand::Run(a)) => {
            let system = a.create.then_some(&mut a.system);
            exchange(&mut a.turn.exchange, system, None, dir)
        }
        Command::Session(SessionCommand::Json(a)) => exchange(
            &mut a.json.turn.exchange,
            None,
            Some(&mut a.json.schema),
            dir,
        ),
        Command::Session(SessionCommand::Chat(a)) => {
            let system = a.create.then_some(&mut a.system);
            exchange(&mut a.chat, system, None, dir)
        }
        Command::Session(SessionCommand::Retry(a)) => {
            exchange(&mut a.turn.exchange, None, None, dir)
        }
        Command::Session(SessionCommand::New(a)) => {
            let Some(name) = a.template.clone() else {
                return Ok(());
            };
            let t = read(&name, dir)?;
            if a.system.is_none() && a.system_file.is_none() {
                a.system = t.system;
            }
            a.model = a.model.take().or(t.model);
            a.provider = a.provider.take().or(t.provider);
            a.reasoning.reasoning = a.reasoning.reasoning.or(effort(t.reasoning.as_ref())?);
            if a.tools.tool.is_empty() {
                a.tools.tool = t.tools;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// A template's `reasoning:`, read as `--reasoning` reads its value.
fn effort(value: Option<&serde_yaml::Value>) -> agent::Result<Option<cli::EffortArg>> {
    use clap::ValueEnum;
    let Some(value) = value else {
        return Ok(None);
    };
    value
        .as_str()
        .and_then(|s| cli::EffortArg::from_str(s, false).ok())
        .map(Some)
        .ok_or_else(|| {
            Error::Usage(format!(
                "template key `reasoning` must be one of none, minimal, low, medium, high, not {}",
                serde_yaml::to_string(value).unwrap_or_default().trim()
            ))
        })
}

fn read(name: &str, dir: Option<&Path>) -> agent::Result<Template> {
    let path = template::locate(name, dir)?;
    if !path.exists() {
        return Err(Error::Usage(format!(
            "no template '{name}' (looked for {}; `agent template ls` lists them)",
            path.display()
        )));
    }
    template::load(&path)
}

fn exchange(
    x: &mut ExchangeArgs,
    system: Option<&mut Option<String>>,
    schema: Option<&mut Option<String>>,
    dir: Option<&Path>,
) -> agent::Result<()> {
    let Some(name) = x.attach.template.clone() else {
        return Ok(());
    };
    let t = read(&name, dir)?;
    let m: &mut cli::ModelArgs = &mut x.model;
    m.model = m.model.take().or(t.model);
    m.provider = m.provider.take().or(t.provider);
    m.temperature = m.temperature.or(t.temperature);
    m.max_tokens = m.max_tokens.or(t.max_tokens);
    m.reasoning.reasoning = m.reasoning.reasoning.or(effort(t.reasoning.as_ref())?);
    if x.tools.files.tool.is_empty() && !x.tools.no_tools {
        x.tools.files.tool = t.tools;
    }
    if let Some(system) = system {
        if system.is_none() {
            *system = t.system;
        }
    }
    if let (Some(schema), Some(given)) = (schema, &t.schema) {
        if schema.is_none() {
            *schema = Some(template::schema_arg(given)?);
        }
    }
    x.attach.fill = Some(TemplateFill {
        name,
        prompt: t.prompt,
        params: template::params(&x.attach.param)?,
    });
    Ok(())
}
