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
}
