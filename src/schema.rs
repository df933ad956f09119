//! JSON Schema: compiling, validating, rendering errors, and deriving schemas from Rust types.

use serde_json::Value;

/// Compile a schema, or say what is wrong with it.
pub fn compile(schema: &Value) -> Result<jsonschema::Validator, String> {
    if !schema.is_object() && !schema.is_boolean() {
        return Err("a JSON Schema must be an object".to_string());
    }
    jsonschema::validator_for(schema).map_err(|e| {
        // Where in the schema the problem is, as a JSON pointer.
        let at = e.instance_path().to_string();
        match at.is_empty() {
            true => format!("invalid JSON Schema: {e}"),
            false => format!("invalid JSON Schema at {at}: {e}"),
        }
    })
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
