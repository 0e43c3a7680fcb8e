//! `cairn plan codegen`: typed calls generated from a tracking plan.
//!
//! One function per planned event (required properties as parameters,
//! optional ones with defaults, enums as enum types, nested objects as small
//! structs), plus `identify` and `group` when the plan types their traits,
//! on a small wrapper around the language's cairn client. The generated code
//! only shapes the call: it calls `track`/`identify`/`group` underneath, so
//! the core still checks every call against the plan at record time.
//!
//! [`model`] reads the plan and decides the types; one module per language
//! writes them out (`rust`, `kotlin`, `swift`, `python`, `typescript`);
//! [`names`] makes identifiers. Reading the file and writing
//! the output are the caller's ([`run`]).

pub mod model;
pub mod names;

mod kotlin;
mod python;
mod rust;
mod swift;
mod typescript;
mod writer;

use std::path::{Path, PathBuf};

pub use model::Plan;

/// A language code is generated for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Lang {
    /// A module over `cairn::Client` (needs `serde_json` next to `cairn`).
    Rust,
    /// A file over `dev.cairn.Cairn` (bindings/kotlin).
    Kotlin,
    /// A file over the `Cairn` Swift package's `Cairn` class.
    Swift,
    /// A module over `cairn.Client` (bindings/python).
    Python,
    /// A module over the web package's `Cairn` (`cairn-web`).
    Typescript,
}

impl Lang {
    /// Every language, in the order the docs list them.
    pub const ALL: [Lang; 5] = [
        Lang::Rust,
        Lang::Kotlin,
        Lang::Swift,
        Lang::Python,
        Lang::Typescript,
    ];

    /// The usual file name of the generated code.
    pub fn file_name(self) -> &'static str {
        match self {
            Lang::Rust => "tracking_plan.rs",
            Lang::Kotlin => "TrackingPlan.kt",
            Lang::Swift => "TrackingPlan.swift",
            Lang::Python => "tracking_plan.py",
            Lang::Typescript => "tracking-plan.ts",
        }
    }
}

/// Why no code was generated. Each message names the plan's path at fault
/// (`events."Order Completed".properties.total`) and what to change.
#[derive(Debug, thiserror::Error)]
pub enum CodegenError {
    /// The plan file could not be read.
    #[error("cannot read the plan {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The plan is not JSON.
    #[error("the plan is not valid JSON (line {line}, column {column}): {message}")]
    Parse {
        /// 1-based line of the error.
        line: usize,
        /// 1-based column.
        column: usize,
        /// serde_json's description.
        message: String,
    },
    /// The plan is not shaped as the format says (docs/tracking-plans.md).
    #[error("invalid plan at {path}: {problem}")]
    Invalid {
        /// Where in the plan.
        path: String,
        /// What is wrong and what to write instead.
        problem: String,
    },
    /// The plan is valid but this part cannot be typed faithfully: nothing is generated rather than wrong code.
    #[error("cannot generate typed calls for {path}: {problem}")]
    Unsupported {
        /// Where in the plan.
        path: String,
        /// What cannot be typed and how to change the plan.
        problem: String,
    },
    /// Two names of the plan give the same identifier.
    #[error("{first} and {second} would both become `{ident}` in the generated code: rename one of them ({what} must differ in more than case and punctuation)")]
    NameClash {
        /// The first name's path in the plan.
        first: String,
        /// The second name's path.
        second: String,
        /// The identifier both give (snake_case).
        ident: String,
        /// What they name.
        what: String,
    },
    /// An option that does not apply to the language.
    #[error("{0}")]
    Option(String),
    /// The output file could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// What to generate, besides the plan.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Options {
    /// Kotlin only: the file's `package` (none by default).
    pub package: Option<String>,
}

/// The source text of the typed calls for `plan` in `lang`.
pub fn generate(plan: &Plan, lang: Lang, options: &Options) -> Result<String, CodegenError> {
    if options.package.is_some() && lang != Lang::Kotlin {
        return Err(CodegenError::Option(
            "--package applies to --lang kotlin only".into(),
        ));
    }
    if let Some(p) = &options.package {
        let ok = !p.is_empty()
            && p.split('.').all(|part| {
                part.chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                    && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            });
        if !ok {
            return Err(CodegenError::Option(format!(
                "--package {p:?} is not a Kotlin package name: dot-separated identifiers such as com.example.analytics"
            )));
        }
    }
    Ok(match lang {
        Lang::Rust => rust::generate(plan),
        Lang::Kotlin => kotlin::generate(plan, options.package.as_deref()),
        Lang::Swift => swift::generate(plan),
        Lang::Python => python::generate(plan),
        Lang::Typescript => typescript::generate(plan),
    })
}

/// `cairn plan codegen`'s arguments.
#[derive(Debug, Clone, clap::Args)]
pub struct CodegenArgs {
    /// The language to generate.
    #[arg(long, value_enum)]
    pub lang: Lang,
    /// Write the code to PATH instead of standard output.
    #[arg(long, value_name = "PATH")]
    pub out: Option<PathBuf>,
    /// Kotlin: the package of the generated file (default: none).
    #[arg(long, value_name = "NAME")]
    pub package: Option<String>,
    /// The tracking plan (JSON).
    pub file: PathBuf,
}

/// Reads the plan, generates, writes to `--out` or returns the text for standard output.
pub fn run(args: &CodegenArgs) -> Result<Option<String>, CodegenError> {
    let code = generate_file(
        &args.file,
        args.lang,
        &Options {
            package: args.package.clone(),
        },
    )?;
    match &args.out {
        Some(path) => {
            std::fs::write(path, code).map_err(|source| CodegenError::Write {
                path: path.clone(),
                source,
            })?;
            Ok(None)
        }
        None => Ok(Some(code)),
    }
}

/// The typed calls for the plan in `file`.
pub fn generate_file(file: &Path, lang: Lang, options: &Options) -> Result<String, CodegenError> {
    let text = std::fs::read_to_string(file).map_err(|source| CodegenError::Read {
        path: file.to_path_buf(),
        source,
    })?;
    generate(&Plan::from_json(&text)?, lang, options)
}
