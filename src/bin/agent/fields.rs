//! What `--schema` takes besides a JSON Schema file: inline JSON, `-`, a YAML document, and the
//! compact field list `llm` users know (`name, age int, bio: one sentence`).

use serde_json::Value;

/// Where a schema comes from on the command line.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum SchemaSource {
    /// Inline JSON (`'{"type": "object", ...}'`).
    Inline(Value),
    /// Read it from stdin (`-`).
    Stdin,
    /// A JSON or YAML file.
    File(std::path::PathBuf),
    /// The compact field list (`'name, age int, bio: one sentence'`), already converted.
    Fields(Value),
}

/// Decide what a `--schema` argument is: inline JSON, `-`, an existing file, or a field list.
pub(crate) fn parse_source(arg: &str) -> Result<SchemaSource, String> {
    let trimmed = arg.trim();
    if trimmed == "-" {
        return Ok(SchemaSource::Stdin);
    }
    if trimmed.starts_with('{') {
        return serde_json::from_str(trimmed)
            .map(SchemaSource::Inline)
            .map_err(|e| format!("--schema is not valid JSON: {e}"));
    }
    let path = std::path::Path::new(trimmed);
    if path.exists() {
        return Ok(SchemaSource::File(path.to_path_buf()));
    }
    let looks_like_path = trimmed.contains('/')
        || [".json", ".yaml", ".yml"]
            .iter()
            .any(|ext| trimmed.ends_with(ext));
    if looks_like_path {
        return Err(format!("schema file {trimmed} does not exist"));
    }
    // One bare word is a file name mistyped far more often than a one-field schema.
    if !trimmed.contains([',', ':', '\n', ' ', '\t']) {
        return Err(format!(
            "no schema file {trimmed} (a field list has a type or a comma, like '{trimmed} str' or 'name, age int')"
        ));
    }
    from_fields(trimmed).map(SchemaSource::Fields)
}

/// Parse a schema document: JSON, or YAML (a superset) when it is not JSON. A document that
/// is just a line of text is read as a field list (`name, age int`).
pub(crate) fn parse_document(text: &str, origin: &str) -> Result<Value, String> {
    agent::limits::check_nesting(text).map_err(|e| format!("{origin} is {e}"))?;
    let value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(json_err) => serde_yaml::from_str::<Value>(text).map_err(|yaml_err| {
            format!("{origin} is neither JSON ({json_err}) nor YAML ({yaml_err})")
        })?,
    };
    match value {
        Value::String(fields) => from_fields(&fields),
        other => Ok(other),
    }
}

/// The compact field list `llm` users know: `name, age int, bio: one sentence`.
///
/// Fields are separated by commas or newlines; each is `NAME [TYPE][: DESCRIPTION]` with
/// TYPE one of `str` (default), `int`, `float`, `bool`, or a list of one of them: `[str]` or
/// `list[str]`. Every field is required and no other is allowed, which also makes the schema
/// eligible for OpenAI's strict mode.
pub(crate) fn from_fields(spec: &str) -> Result<Value, String> {
    let mut properties = serde_json::Map::new();
    let mut required = Vec::new();
    let separator = if spec.contains('\n') { '\n' } else { ',' };
    for raw in spec.split(separator) {
        let raw = raw.trim();
        if raw.is_empty() {
            continue;
        }
        let (head, description) = match raw.split_once(':') {
            Some((h, d)) => (h.trim(), Some(d.trim())),
            None => (raw, None),
        };
        let mut words = head.split_whitespace();
        let name = words
            .next()
            .ok_or_else(|| format!("empty field in schema '{spec}'"))?;
        let ty = field_type(words.next().unwrap_or("str"))
            .map_err(|other| format!("field '{name}': unknown type '{other}' (use str, int, float, bool, or a list like [str])"))?;
        if let Some(extra) = words.next() {
            return Err(format!(
                "field '{name}': unexpected '{extra}' (descriptions go after ':')"
            ));
        }
        let valid_name = name
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '-');
        if !valid_name {
            return Err(format!("'{name}' is not a field name: --schema takes a file, JSON, or fields like 'name, age int'"));
        }
        let mut prop = ty;
        if let Some(d) = description.filter(|d| !d.is_empty()) {
            prop.insert("description".into(), Value::String(d.into()));
        }
        if properties
            .insert(name.to_string(), Value::Object(prop))
            .is_some()
        {
            return Err(format!("field '{name}' appears twice"));
        }
        required.push(Value::String(name.to_string()));
    }
    if properties.is_empty() {
        return Err("the schema has no fields".to_string());
    }
    Ok(serde_json::json!({
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": false,
    }))
}

/// A field's type: `str`, `int`, `float`, `bool`, or a list of one: `[str]`, `list[int]`.
fn field_type(word: &str) -> Result<serde_json::Map<String, Value>, &str> {
    let list = word
        .strip_prefix('[')
        .and_then(|w| w.strip_suffix(']'))
        .or_else(|| word.strip_prefix("list[").and_then(|w| w.strip_suffix(']')));
    let mut out = serde_json::Map::new();
    if let Some(inner) = list {
        out.insert("type".into(), Value::String("array".into()));
        out.insert(
            "items".into(),
            Value::Object(field_type(inner).map_err(|_| word)?),
        );
        return Ok(out);
    }
    let ty = match word {
        "str" | "string" => "string",
        "int" | "integer" => "integer",
        "float" | "number" => "number",
        "bool" | "boolean" => "boolean",
        other => return Err(other),
    };
    out.insert("type".into(), Value::String(ty.into()));
    Ok(out)
}

/// `--multi`: many records at once, as `{"items": [<schema>...]}`.
pub(crate) fn multi(schema: Value) -> Value {
    serde_json::json!({
        "type": "object",
        "properties": {"items": {"type": "array", "items": schema}},
        "required": ["items"],
        "additionalProperties": false,
    })
}

#[cfg(test)]
mod source_tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn field_lists() {
        assert_eq!(
            from_fields("name, age int, bio: one sentence").unwrap(),
            json!({
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "age": {"type": "integer"},
                    "bio": {"type": "string", "description": "one sentence"},
                },
                "required": ["name", "age", "bio"],
                "additionalProperties": false,
            })
        );
        let multiline = from_fields("score float: 0 to 1\nok bool").unwrap();
        assert_eq!(
            multiline["properties"]["score"],
            json!({"type": "number", "description": "0 to 1"})
        );
        assert_eq!(multiline["properties"]["ok"], json!({"type": "boolean"}));
        assert!(from_fields("age integerish")
            .unwrap_err()
            .contains("unknown type"));
        assert!(from_fields("a, a").unwrap_err().contains("twice"));
        assert_eq!(
            from_fields("title, tags [str]: a few words, scores list[int]").unwrap()["properties"],
            json!({
                "title": {"type": "string"},
                "tags": {"type": "array", "items": {"type": "string"}, "description": "a few words"},
                "scores": {"type": "array", "items": {"type": "integer"}},
            })
        );
        assert!(agent::schema::is_strict_compatible(
            &from_fields("a, b int").unwrap()
        ));
    }

    #[test]
    fn sources() {
        assert_eq!(parse_source("-").unwrap(), SchemaSource::Stdin);
        assert_eq!(
            parse_source(r#"{"type":"object"}"#).unwrap(),
            SchemaSource::Inline(json!({"type": "object"}))
        );
        assert!(matches!(
            parse_source("name, age int").unwrap(),
            SchemaSource::Fields(_)
        ));
        assert!(parse_source("missing/person.json")
            .unwrap_err()
            .contains("does not exist"));
        assert!(parse_source("{nope").is_err());
        assert!(parse_source("person")
            .unwrap_err()
            .contains("no schema file person"));
    }

    #[test]
    fn yaml_and_json_documents() {
        let yaml = "type: object\nproperties:\n  name: {type: string}\nrequired: [name]\n";
        assert_eq!(
            parse_document(yaml, "s.yaml").unwrap(),
            json!({"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]})
        );
        assert_eq!(
            parse_document("{\"a\": 1}", "s.json").unwrap(),
            json!({"a": 1})
        );
        assert!(parse_document("a: [", "bad").is_err());
    }

    #[test]
    fn multi_wraps_items() {
        let m = multi(json!({"type": "string"}));
        assert_eq!(m["properties"]["items"]["items"], json!({"type": "string"}));
        assert!(agent::schema::compile(&m).is_ok());
    }
}
