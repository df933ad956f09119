//! `agent template ls|show|path`: the templates `--template NAME` finds.

use std::path::Path;

use anyhow::Result;
use serde_json::json;

use agent::Error;

use crate::output::write_out;
use crate::settings::TemplateQuery;
use crate::template;

pub(crate) fn query(what: TemplateQuery, dir: Option<&Path>) -> Result<()> {
    let no_dir = || Error::Usage("no templates directory: set XDG_CONFIG_HOME or HOME".into());
    match what {
        TemplateQuery::Ls { json } => {
            let dir = dir.ok_or_else(no_dir)?;
            let mut out = String::new();
            for name in template::names(dir) {
                if !json {
                    out.push_str(&name);
                    out.push('\n');
                    continue;
                }
                let path = dir.join(format!("{name}.yaml"));
                let line = match template::load(&path) {
                    Ok(t) => json!({"name": name, "path": path, "template": t}),
                    Err(e) => json!({"name": name, "path": path, "error": e.to_string()}),
                };
                out.push_str(&format!("{line}\n"));
            }
            write_out(out.as_bytes())?;
        }
        TemplateQuery::Show(name) => {
            let path = template::locate(&name, dir)?;
            let text = agent::limits::read_config_file(&path).map_err(|e| {
                Error::Usage(format!("no template '{name}' ({}: {e})", path.display()))
            })?;
            // Checked, so what is shown is what `--template` would use.
            template::load(&path)?;
            write_out(text.as_bytes())?;
        }
        TemplateQuery::Path(name) => {
            let path = match name {
                Some(name) => template::locate(&name, dir)?,
                None => dir.ok_or_else(no_dir)?.to_path_buf(),
            };
            write_out(format!("{}\n", path.display()).as_bytes())?;
        }
    }
    Ok(())
}
