//! What a turn brings besides its prompt: attachments (`-a`) and text fragments (`-f`).

use std::path::PathBuf;

use clap::{Args, ValueHint};

/// Files sent with a prompt.
#[derive(Debug, Args, Clone, Default)]
pub(crate) struct AttachArgs {
    /// Send a file with the prompt: a PNG, JPEG, GIF or WebP image, a PDF, or a text file;
    /// repeatable, sent in the order given, before the prompt's text. `-` reads stdin's bytes
    /// (the prompt then comes from the arguments only)
    #[arg(short = 'a', long = "attach", value_name = "PATH", value_hint = ValueHint::FilePath)]
    pub(crate) attach: Vec<PathBuf>,
    /// The media type of every -a file (image/png, application/pdf, text/plain, ...) instead of
    /// the one read from its first bytes
    #[arg(long, value_name = "MIME", requires = "attach")]
    pub(crate) attach_type: Option<String>,
    /// Add a text file's content to the prompt, labelled with its name, before the arguments;
    /// repeatable. `-` reads stdin
    #[arg(short = 'f', long = "fragment", value_name = "PATH", value_hint = ValueHint::FilePath)]
    pub(crate) fragment: Vec<PathBuf>,
    /// Use a template: NAME in the templates directory ($XDG_CONFIG_HOME/agent/templates, or
    /// templates_dir: in the config), or a PATH to a YAML file. Flags given explicitly win
    #[arg(long, value_name = "NAME|PATH", add = clap_complete::engine::ArgValueCompleter::new(crate::candidates::template_names))]
    pub(crate) template: Option<String>,
    /// A value for the template's $NAME placeholder; repeatable
    #[arg(short = 'p', long = "param", num_args = 2, value_names = ["NAME", "VALUE"], requires = "template")]
    pub(crate) param: Vec<String>,
    /// The template's prompt and values, once the template is read (by the settings).
    #[arg(skip)]
    pub(crate) fill: Option<TemplateFill>,
}

/// A template's prompt and the `-p` values that fill it.
#[derive(Debug, Clone, Default)]
pub(crate) struct TemplateFill {
    pub(crate) name: String,
    pub(crate) prompt: Option<String>,
    pub(crate) params: std::collections::BTreeMap<String, String>,
}

/// `agent template ...`
#[derive(Debug, clap::Subcommand)]
pub(crate) enum TemplateCommand {
    /// List the templates in the templates directory
    Ls {
        /// One JSON object per template: name, path, and its keys
        #[arg(long)]
        json: bool,
    },
    /// Print a template's YAML
    Show {
        /// The template's name, or a path
        #[arg(add = clap_complete::engine::ArgValueCompleter::new(crate::candidates::template_names))]
        name: String,
    },
    /// Print the templates directory, or the file a NAME resolves to
    Path {
        #[arg(add = clap_complete::engine::ArgValueCompleter::new(crate::candidates::template_names))]
        name: Option<String>,
    },
}
