//! `-a` and `-f`: the files a turn sends with its prompt. Attachments are read (and sniffed)
//! before the prompt, so `-a -` can take stdin's bytes; fragments become labelled text before
//! the prompt's arguments.

use std::io::Read;
use std::path::{Path, PathBuf};

use agent::limits::{MAX_ATTACHMENT_BYTES, MAX_PROMPT_BYTES};
use agent::{Attachment, Error};

use crate::cli::{AttachArgs, TemplateFill};
use crate::input::{self, Prompt};
use crate::output::Output;

/// `-a`, `--attach-type` and `-f` as given, and the attachments once read.
#[derive(Debug, Clone, Default)]
pub(crate) struct AttachChoice {
    pub(crate) paths: Vec<PathBuf>,
    pub(crate) mime: Option<String>,
    pub(crate) fragments: Vec<PathBuf>,
    /// What the next turn sends ([`agent::RunOptions::attachments`]).
    pub(crate) loaded: Vec<Attachment>,
    /// `--template`: the prompt the turn's text fills.
    pub(crate) template: Option<TemplateFill>,
}

impl AttachChoice {
    pub(crate) fn new(a: AttachArgs) -> Self {
        AttachChoice {
            paths: a.attach,
            mime: a.attach_type,
            fragments: a.fragment,
            loaded: Vec::new(),
            template: a.fill,
        }
    }

    /// Whether `-a -` or `-f -` takes stdin.
    fn takes_stdin(&self) -> bool {
        self.paths
            .iter()
            .chain(&self.fragments)
            .any(|p| is_stdin(p))
    }
}

fn is_stdin(p: &Path) -> bool {
    p.as_os_str() == "-"
}

/// Read the attachments and fragments, then the prompt: stdin's text only when no `-` took
/// it, the fragments (labelled) before it. Nothing is sent if a file is missing, binary where
/// text is wanted, or of a type nothing takes.
pub(crate) async fn prompt(
    words: &[String],
    read_stdin: bool,
    out: &Output,
    choice: &mut AttachChoice,
) -> agent::Result<Prompt> {
    if choice
        .paths
        .iter()
        .chain(&choice.fragments)
        .filter(|p| is_stdin(p))
        .count()
        > 1
    {
        return Err(Error::Usage(
            "stdin can be read once: give '-' to one -a or -f only".into(),
        ));
    }
    let mut loaded = Vec::new();
    for path in &choice.paths {
        loaded.push(attachment(path, choice.mime.as_deref()).await?);
    }
    choice.loaded = loaded;
    let mut fragments = String::new();
    for path in &choice.fragments {
        fragments.push_str(&fragment(path).await?);
    }
    let read_stdin = read_stdin && !choice.takes_stdin();
    let mut prompt = match input::prompt(words, read_stdin, out).await {
        // Fragments alone are a prompt, and so is a template's.
        Err(Error::Usage(m))
            if m.starts_with("no prompt")
                && (!fragments.is_empty()
                    || choice.template.as_ref().is_some_and(|t| t.prompt.is_some())) =>
        {
            Prompt {
                text: String::new(),
                title: None,
            }
        }
        other => other?,
    };
    if let Some(t) = &choice.template {
        prompt.text =
            crate::template::render(&t.name, t.prompt.as_deref(), &t.params, &prompt.text)?;
        if prompt.title.is_none() && !words.is_empty() {
            prompt.title = Some(words.join(" "));
        }
    }
    if !fragments.is_empty() {
        if prompt.title.is_none() && !words.is_empty() {
            prompt.title = Some(words.join(" "));
        }
        prompt.text = format!("{fragments}{}", prompt.text);
        let trimmed = prompt.text.trim_end().len();
        prompt.text.truncate(trimmed);
    }
    Ok(prompt)
}

/// Read the `-a` files alone (`session retry`, whose prompt is the failed turn's text; `-f`
/// would change that text, so it is refused there).
pub(crate) async fn load(choice: &mut AttachChoice) -> agent::Result<()> {
    if !choice.fragments.is_empty() {
        return Err(Error::Usage(
            "a retry sends the failed turn's text as it was: -f cannot add to it".into(),
        ));
    }
    for path in std::mem::take(&mut choice.paths) {
        let a = attachment(&path, choice.mime.as_deref()).await?;
        choice.loaded.push(a);
    }
    Ok(())
}

/// A chat message with the chat's `-a` and `-f` files, the first time: those are read then
/// (stdin is the chat's own, so `-` is refused), and go with the first message only.
pub(crate) async fn chat_prompt(text: &str, choice: &mut AttachChoice) -> agent::Result<String> {
    if choice.takes_stdin() {
        return Err(Error::Usage(
            "a chat reads its messages from stdin: -a - and -f - cannot take it".into(),
        ));
    }
    // The command line's files go before those of `!attach`.
    let mut first = Vec::new();
    for path in std::mem::take(&mut choice.paths) {
        first.push(attachment(&path, choice.mime.as_deref()).await?);
    }
    choice.loaded.splice(0..0, first);
    let mut out = String::new();
    for path in std::mem::take(&mut choice.fragments) {
        out.push_str(&fragment(&path).await?);
    }
    out.push_str(text);
    Ok(out)
}

/// One `-a` file (or stdin's bytes), its type sniffed unless `--attach-type` names it.
pub(crate) async fn attachment(path: &Path, mime: Option<&str>) -> agent::Result<Attachment> {
    let path = path.to_path_buf();
    let mime = mime.map(str::to_string);
    blocking(move || {
        if !is_stdin(&path) {
            return Attachment::from_path_as(&path, mime.as_deref());
        }
        let mut bytes = Vec::new();
        std::io::stdin()
            .lock()
            .take(MAX_ATTACHMENT_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| Error::io("cannot read stdin", e))?;
        Attachment::from_bytes(bytes, mime.as_deref())
            .map(|a| a.named("stdin"))
            .map_err(|e| match e {
                Error::Usage(m) => Error::Usage(format!("-a -: {m}")),
                other => other,
            })
    })
    .await
}

/// One `-f` file as the model reads it: `[file: NAME]`, its text, a blank line.
async fn fragment(path: &Path) -> agent::Result<String> {
    let path = path.to_path_buf();
    blocking(move || {
        let name = path.display().to_string();
        let mut bytes = Vec::new();
        let read = if is_stdin(&path) {
            std::io::stdin()
                .lock()
                .take(MAX_PROMPT_BYTES as u64 + 1)
                .read_to_end(&mut bytes)
        } else {
            std::fs::File::open(&path)
                .and_then(|f| f.take(MAX_PROMPT_BYTES as u64 + 1).read_to_end(&mut bytes))
        };
        read.map_err(|e| Error::io(format!("cannot read fragment {name}"), e))?;
        if bytes.len() > MAX_PROMPT_BYTES {
            return Err(Error::Usage(format!(
                "fragment {name} is over the {} MiB prompt limit",
                MAX_PROMPT_BYTES >> 20
            )));
        }
        if !agent::attachment::is_text(&bytes) {
            return Err(Error::Usage(format!(
                "fragment {name} is not text: send it with -a {name}"
            )));
        }
        let text = String::from_utf8(bytes).expect("checked to be UTF-8");
        let name = if is_stdin(&path) { "stdin" } else { &name };
        Ok(format!(
            "[file: {name}]\n{}\n\n",
            text.trim_end_matches('\n')
        ))
    })
    .await
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> agent::Result<T> + Send + 'static,
) -> agent::Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::Other(format!("a file read failed to finish: {e}")))?
}
