//! JSON Schema: compiling, validating, rendering errors, and deriving schemas from Rust types.

use serde_json::Value;

/// Compile a schema, or say what is wrong with it.
pub fn compile(schema: &Value) -> Result<jsonschema::Validator, String> {
    if !schema.is_object() && !schema.is_boolean() {
        return Err("a JSON Schema must be an object".to_string());
    }
    jsonschema::validator_for(schema).map_err(|e| format!("invalid JSON Schema: {e}"))
}

/// Every validation error as `"/json/pointer: message"` (the root is `/`).
pub fn errors(validator: &jsonschema::Validator, instance: &Value) -> Vec<String> {
    validator
        .iter_errors(instance)
        .map(|e| {
            let path = e.instance_path().to_string();
            let path = if path.is_empty() {
                "/".to_string()
            } else {
                path
            };
            format!("{path}: {e}")
        })
        .collect()
}

/// The JSON Schema of a Rust type, as providers want it (no `$schema` key).
pub fn schema_for<T: schemars::JsonSchema>() -> Value {
    let mut v = schemars::schema_for!(T).to_value();
    if let Some(obj) = v.as_object_mut() {
        obj.remove("$schema");
    }
    v
}

/// OpenAI's strict mode accepts a schema only when every object lists all its properties as
/// required and forbids additional ones. Anything else is sent with `strict: false`.
pub fn is_strict_compatible(schema: &Value) -> bool {
    match schema {
        Value::Object(map) => {
            let is_object =
                map.get("type").is_some_and(|t| t == "object") || map.contains_key("properties");
            if is_object {
                if map.get("additionalProperties") != Some(&Value::Bool(false)) {
                    return false;
                }
                let props = map.get("properties").and_then(Value::as_object);
                let required: Vec<&str> = map
                    .get("required")
                    .and_then(Value::as_array)
                    .map(|r| r.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                if let Some(props) = props {
                    if !props.keys().all(|k| required.contains(&k.as_str())) {
                        return false;
                    }
                }
            }
            map.values().all(is_strict_compatible)
        }
        Value::Array(items) => items.iter().all(is_strict_compatible),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn strictness() {
        let strict = json!({"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"], "additionalProperties": false});
        assert!(is_strict_compatible(&strict));
        let loose = json!({"type": "object", "properties": {"a": {"type": "string"}}});
        assert!(!is_strict_compatible(&loose));
    }

    #[test]
    fn errors_name_the_path() {
        let v = compile(&json!({"type": "object", "properties": {"age": {"type": "integer"}}}))
            .unwrap();
        let errs = errors(&v, &json!({"age": "x"}));
        assert_eq!(errs.len(), 1);
        assert!(errs[0].starts_with("/age: "), "{errs:?}");
        assert!(compile(&json!({"type": 12})).is_err());
    }
}

/// Where a schema comes from on the command line.
#[derive(Debug, Clone, PartialEq)]
pub enum SchemaSource {
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
pub fn parse_source(arg: &str) -> Result<SchemaSource, String> {
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
    from_fields(trimmed).map(SchemaSource::Fields)
}

/// Parse a schema document: JSON, or YAML (a superset) when it is not JSON. A document that
/// is just a line of text is read as a field list (`name, age int`).
pub fn parse_document(text: &str, origin: &str) -> Result<Value, String> {
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
/// TYPE one of `str` (default), `int`, `float`, `bool`. Every field is required and no other
/// is allowed, which also makes the schema eligible for OpenAI's strict mode.
pub fn from_fields(spec: &str) -> Result<Value, String> {
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
        let ty = match words.next().unwrap_or("str") {
            "str" | "string" => "string",
            "int" | "integer" => "integer",
            "float" | "number" => "number",
            "bool" | "boolean" => "boolean",
            other => {
                return Err(format!(
                    "field '{name}': unknown type '{other}' (use str, int, float or bool)"
                ))
            }
        };
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
        let mut prop = serde_json::Map::new();
        prop.insert("type".into(), Value::String(ty.into()));
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

/// `--multi`: many records at once, as `{"items": [<schema>...]}`.
pub fn multi(schema: Value) -> Value {
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
        assert!(is_strict_compatible(&from_fields("a, b int").unwrap()));
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
        assert!(compile(&m).is_ok());
    }
}
