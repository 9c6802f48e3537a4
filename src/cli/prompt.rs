//! The interactive side of `gw init`: dialoguer prompts on the terminal.

use dialoguer::theme::ColorfulTheme;
use dialoguer::{Input, Select};

use crate::scaffold::{Error, Prompter};

pub struct Dialoguer {
    theme: ColorfulTheme,
}

impl Dialoguer {
    pub fn new() -> Dialoguer {
        Dialoguer { theme: ColorfulTheme::default() }
    }
}

impl Prompter for Dialoguer {
    fn select(&self, prompt: &str, items: &[String], default: usize) -> Result<usize, Error> {
        Select::with_theme(&self.theme)
            .with_prompt(prompt)
            .items(items)
            .default(default)
            .interact()
            .map_err(|e| Error::Prompt(e.to_string()))
    }

    fn input(
        &self,
        prompt: &str,
        default: Option<&str>,
        check: &dyn Fn(&str) -> Result<(), String>,
    ) -> Result<String, Error> {
        let mut input = Input::<String>::with_theme(&self.theme).with_prompt(prompt);
        if let Some(default) = default {
            input = input.default(default.to_string());
        }
        input.validate_with(|value: &String| check(value)).interact_text().map_err(|e| Error::Prompt(e.to_string()))
    }
}
