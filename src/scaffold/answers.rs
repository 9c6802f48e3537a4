//! Collecting a template's values: from flags first, then from the user when
//! there is a terminal, else from defaults with --accept-defaults; a value
//! that none of these gives is an error naming its flag.

use std::collections::BTreeMap;

use super::Error;
use super::names::check_project_name;
use super::registry::{self, DEFAULT_TEMPLATE, Parameter, Template};

/// Asks the user. The CLI implements it with dialoguer; without a terminal
/// there is no prompter at all.
pub trait Prompter {
    /// Picks one of `items` (shown as given); returns its index.
    fn select(&self, prompt: &str, items: &[String], default: usize) -> Result<usize, Error>;
    /// Asks for text until `check` accepts it.
    fn input(
        &self,
        prompt: &str,
        default: Option<&str>,
        check: &dyn Fn(&str) -> Result<(), String>,
    ) -> Result<String, Error>;
}

/// What the command line gave.
#[derive(Debug, Default)]
pub struct Request {
    pub template: Option<String>,
    pub name: Option<String>,
    pub defines: Vec<String>,
    pub accept_defaults: bool,
}

#[derive(Debug)]
pub struct Answers {
    pub template: Template,
    pub name: String,
    pub values: BTreeMap<String, String>,
}

pub fn collect(request: Request, prompter: Option<&dyn Prompter>) -> Result<Answers, Error> {
    let template = match (&request.template, prompter) {
        (Some(id), _) => registry::find(id)?,
        (None, Some(prompter)) => {
            let all = registry::templates()?;
            let width = all.iter().map(|t| t.id.len()).max().unwrap_or(0);
            let items: Vec<String> =
                all.iter().map(|t| format!("{:<width$}  {} ({})", t.id, t.description, t.kind.as_str())).collect();
            let default = all.iter().position(|t| t.id == DEFAULT_TEMPLATE).unwrap_or(0);
            all[prompter.select("Template", &items, default)?].clone()
        }
        (None, None) if request.accept_defaults => registry::find(DEFAULT_TEMPLATE)?,
        (None, None) => return Err(missing("the template", "--template <ID>")),
    };

    let dependencies = template.dependencies();
    let check = |name: &str| {
        check_project_name(name)?;
        if dependencies.contains(&name.replace('-', "_")) {
            let reason = format!("template {} depends on a crate of that name, and a package cannot", template.id);
            return Err(Error::BadName { name: name.to_string(), reason });
        }
        Ok(())
    };
    let name = match (&request.name, prompter) {
        (Some(name), _) => {
            check(name)?;
            name.clone()
        }
        (None, Some(prompter)) => prompter.input("Project name", None, &|v| check(v).map_err(|e| e.to_string()))?,
        (None, None) => return Err(missing("the project name", "a directory (gw init DIR) or --name <NAME>")),
    };

    let mut given = BTreeMap::new();
    for define in &request.defines {
        let (key, value) = define.split_once('=').ok_or_else(|| Error::BadDefine(define.clone()))?;
        let parameter = template.parameter(key.trim()).ok_or_else(|| Error::UnknownParameter {
            template: template.id.clone(),
            key: key.trim().to_string(),
            known: known(&template),
        })?;
        check_value(parameter, value)?;
        given.insert(parameter.name.clone(), value.to_string());
    }

    let mut values = BTreeMap::new();
    for parameter in &template.parameters {
        let value = match (given.remove(&parameter.name), prompter) {
            (Some(value), _) => value,
            (None, Some(prompter)) => ask(prompter, parameter)?,
            (None, None) => match (&parameter.default, request.accept_defaults) {
                (Some(default), true) => default.clone(),
                _ => {
                    return Err(missing(
                        &format!("a value for {} ({})", parameter.name, parameter.prompt),
                        &format!("-d {}=VALUE", parameter.name),
                    ));
                }
            },
        };
        values.insert(parameter.name.clone(), value);
    }
    Ok(Answers { template, name, values })
}

fn ask(prompter: &dyn Prompter, parameter: &Parameter) -> Result<String, Error> {
    if parameter.choices.is_empty() {
        let check = |value: &str| check_value(parameter, value).map_err(|e| e.to_string());
        return prompter.input(&parameter.prompt, parameter.default.as_deref(), &check);
    }
    let default = parameter.default.as_ref().and_then(|d| parameter.choices.iter().position(|c| c == d)).unwrap_or(0);
    Ok(parameter.choices[prompter.select(&parameter.prompt, &parameter.choices, default)?].clone())
}

/// A value is one of the choices, or matches the pattern.
pub fn check_value(parameter: &Parameter, value: &str) -> Result<(), Error> {
    if !parameter.choices.is_empty() && !parameter.choices.iter().any(|c| c == value) {
        return Err(Error::NotAChoice {
            name: parameter.name.clone(),
            value: value.to_string(),
            choices: parameter.choices.join(", "),
        });
    }
    if let Some(pattern) = &parameter.pattern {
        let whole = regex::Regex::new(&format!("^(?:{pattern})$"))
            .map_err(|e| Error::Template { template: parameter.name.clone(), message: format!("bad pattern: {e}") })?;
        if !whole.is_match(value) {
            return Err(Error::PatternMismatch {
                name: parameter.name.clone(),
                value: value.to_string(),
                pattern: pattern.clone(),
                help: parameter.help.as_ref().map(|h| format!(" ({h})")).unwrap_or_default(),
            });
        }
    }
    Ok(())
}

fn known(template: &Template) -> String {
    if template.parameters.is_empty() {
        return "none".into();
    }
    template.parameters.iter().map(|p| p.name.as_str()).collect::<Vec<_>>().join(", ")
}

fn missing(what: &str, flag: &str) -> Error {
    Error::Missing { what: what.to_string(), flag: flag.to_string() }
}
