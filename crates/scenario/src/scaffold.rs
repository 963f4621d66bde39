//! A new scenario made from an existing one: the same stack shape under a new
//! name, with its own build context. Edits keep the file's comments and layout.

use std::path::PathBuf;

use crate::values::Name;
use crate::{Error, Loaded};

/// What `new NAME --like STACK` writes.
#[derive(Debug, Clone)]
pub struct Scaffold {
    /// The new scenario file's text.
    pub text: String,
    /// The build context to copy (the model's server context, absolute).
    pub copy_from: PathBuf,
    /// The new build context, relative to the project root: `docker/NAME`.
    pub context: String,
}

/// The scenario `name` made from `like`: name, description, leading comment and
/// the server's build context changed; sidecars and the workload kept.
pub fn scaffold(like: &Loaded, name: &str) -> Result<Scaffold, Error> {
    let invalid = |message: String, hint: &str| Error::Invalid {
        path: PathBuf::from(format!("{name}.toml")),
        line: 1,
        col: 1,
        message,
        hint: Some(hint.to_string()),
    };
    Name::parse(name).map_err(|e| invalid(e, "e.g. `cargo xtask new flask-waitress --like flask-dev`"))?;
    if let Some(why) = crate::reserved_name(name) {
        return Err(invalid(why, crate::RESERVED_NAME_HINT));
    }
    let model = like.scenario.name.get_ref().as_str();
    let mut doc: toml_edit::DocumentMut = like.text.parse().map_err(|e: toml_edit::TomlError| {
        like.error_at(e.span().unwrap_or(0..0), format!("cannot edit this file: {}", e.message()), None)
    })?;
    let context = format!("docker/{name}");
    doc["name"] = toml_edit::value(name);
    doc["description"] = toml_edit::value(format!("TODO: what {name} runs (scaffolded from {model})"));
    if let Some(mut key) = doc.as_table_mut().key_mut("name") {
        key.leaf_decor_mut().set_prefix(format!(
            "# Scaffolded from scenarios/{model}.toml by `cargo xtask new`: change the app in {context}/,\n\
             # the command and the description, then check it with\n\
             # `cargo xtask bench --verify-only scenarios/{name}.toml`.\n"
        ));
    }
    doc["server"]["build"] = toml_edit::value(context.clone());
    Ok(Scaffold { text: doc.to_string(), copy_from: like.resolve(like.scenario.server.build.get_ref()), context })
}
