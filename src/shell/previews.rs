//! `mfe-deploy previews`: an environment's live previews (one overlay per pull
//! request beside its manifest), and ending them: `--close <n>` does what a `closed`
//! pull request event does, `--prune` ends those older than `previews.keep-days`
//! (for close events that never ran).

use std::collections::BTreeMap;
use std::io::Write;

use super::commands::{identity, one_module};
use crate::apply::ProgressMode;
use crate::clock::Utc;
use crate::deploy::{self, Presentation};
use crate::error::Error;
use crate::live;
use crate::manifest;
use crate::record::Provenance;
use crate::request::{DeployRequest, InputError, Preview};
use crate::shell::cli::PreviewsArgs;

/// One pull request's live preview.
struct Listed {
    number: u64,
    /// Module → version, as its overlay names them.
    modules: BTreeMap<String, String>,
    /// When its overlay was last written (seconds since the epoch).
    written: Option<i64>,
}

pub async fn previews(args: PreviewsArgs, stdout: &mut dyn Write) -> Result<(), Error> {
    let mut raw = args.deploy.into_raw(false);
    // NOTE: previews belong to an environment, not to a module folder: any module
    // name resolves the environment's bucket and manifest; each module of a preview is
    // then ended under its own prefix.
    raw.package.get_or_insert_with(|| "previews".to_owned());
    let (request, config) = one_module(&raw, "previews")?;
    let settings = config
        .environments
        .get(&request.environment)
        .and_then(|e| e.previews.clone())
        .ok_or_else(|| InputError::Missing {
            name: "previews",
            hint: format!(
                "environment `{}` has no `previews:` in the config",
                request.environment
            ),
        })?;
    let (identity, on_runner) = identity();
    let (store, _) = deploy::connect(&request, &identity, on_runner, stdout).await?;
    let mut listed = list(&store, &request.manifest.native).await?;
    // A preview whose overlay is gone but whose files a failed close left: its
    // modules are in its records.
    if let Some(number) = args.close
        && !listed.iter().any(|p| p.number == number)
    {
        let modules = recorded_modules(&store, &config.records_prefix(), number).await?;
        if !modules.is_empty() {
            listed.push(Listed {
                number,
                modules: modules.into_iter().map(|m| (m, String::new())).collect(),
                written: None,
            });
        }
    }

    let now = Utc::now().millis / 1000;
    let ending: Vec<&Listed> = match (args.close, args.prune) {
        (Some(number), _) => listed.iter().filter(|p| p.number == number).collect(),
        (None, true) => {
            let days = settings.keep_days.ok_or_else(|| InputError::Missing {
                name: "previews.keep-days",
                hint: format!(
                    "`--prune` ends previews older than `environments.{}.previews.keep-days`, and it is not set",
                    request.environment
                ),
            })?;
            let limit = i64::try_from(days.saturating_mul(86_400)).unwrap_or(i64::MAX);
            listed
                .iter()
                .filter(|p| p.written.is_some_and(|t| now - t >= limit))
                .collect()
        }
        (None, false) => return print(&listed, &settings.public_url, now, args.json, stdout),
    };
    if let (Some(number), true) = (args.close, ending.is_empty()) {
        writeln!(
            stdout,
            "pull request {number} has no live preview in `{}`",
            request.environment
        )
        .map_err(Error::stdout)?;
        return Ok(());
    }
    let mut requests = Vec::new();
    for preview in ending {
        for module in preview.modules.keys() {
            requests.push(closing(
                &request,
                module,
                preview.number,
                &settings.public_url,
            ));
        }
    }
    let presentation = Presentation {
        annotations: on_runner,
        progress: ProgressMode::Quiet,
    };
    let provenance = Provenance::from_env(&|name: &str| std::env::var(name).ok());
    let finished = deploy::many::deploy_all(
        &requests,
        &config,
        &identity,
        &provenance,
        on_runner,
        presentation,
        stdout,
    )
    .await?;
    let mut failed = Vec::new();
    for end in finished {
        match end.result {
            Ok(report) => writeln!(
                stdout,
                "{}: {} ({} deleted)",
                end.package,
                report.status.as_str(),
                report.deleted
            )
            .map_err(Error::stdout)?,
            Err(f) => {
                writeln!(stdout, "{}: failed: {}", end.package, f.error).map_err(Error::stdout)?;
                failed.push(end.package);
            }
        }
    }
    if failed.is_empty() {
        return Ok(());
    }
    Err(Error::Modules {
        total: requests.len(),
        failed,
        bad_input: false,
    })
}

/// The live previews beside the native manifest at `manifest`, by pull request.
async fn list<S: crate::store::ObjectStore>(
    store: &S,
    manifest: &str,
) -> Result<Vec<Listed>, Error> {
    let mut listed = Vec::new();
    for (number, overlay) in live::overlays(store, manifest)
        .await
        .map_err(Error::Remote)?
    {
        let Some(fetched) = store.get(&overlay.key).await.map_err(Error::Remote)? else {
            continue;
        };
        let modules = manifest::modules(&fetched.bytes)
            .into_iter()
            .map(|(module, entry)| (module, entry.version))
            .collect();
        listed.push(Listed {
            number,
            modules,
            written: overlay.last_modified,
        });
    }
    listed.sort_by_key(|p| p.number);
    Ok(listed)
}

/// The modules pull request `number` previewed, from its records.
async fn recorded_modules<S: crate::store::ObjectStore>(
    store: &S,
    records_prefix: &str,
    number: u64,
) -> Result<Vec<String>, Error> {
    let dir = format!("{records_prefix}previews/pr-{number}/modules/");
    let keys = store.list(&dir).await.map_err(Error::Remote)?;
    let mut modules: Vec<String> = keys
        .iter()
        .filter_map(|o| o.key.strip_prefix(&dir)?.split_once("/records/"))
        .map(|(module, _)| module.to_owned())
        .collect();
    modules.dedup();
    Ok(modules)
}

/// The request that ends pull request `number`'s preview of `module`.
fn closing(
    request: &DeployRequest,
    module: &str,
    number: u64,
    public_url: &Option<String>,
) -> DeployRequest {
    let prefix = match module {
        "~root" => String::new(),
        module => format!("{module}/"),
    };
    DeployRequest {
        package: module.into(),
        prefix,
        retention: None,
        preview: Some(Preview {
            number,
            head: None,
            public_url: public_url.clone(),
        }),
        ..request.clone()
    }
}

fn print(
    listed: &[Listed],
    public_url: &Option<String>,
    now: i64,
    json: bool,
    stdout: &mut dyn Write,
) -> Result<(), Error> {
    let url = |number: u64| {
        Preview {
            number,
            head: None,
            public_url: public_url.clone(),
        }
        .url()
        .unwrap_or_default()
    };
    let age_days = |p: &Listed| p.written.map(|t| (now - t) / 86_400);
    let text = if json {
        let rows: Vec<serde_json::Value> = listed
            .iter()
            .map(|p| {
                serde_json::json!({
                    "pull-request": p.number,
                    "modules": p.modules,
                    "age-days": age_days(p),
                    "url": url(p.number),
                })
            })
            .collect();
        format!("{:#}\n", serde_json::Value::Array(rows))
    } else if listed.is_empty() {
        "no live previews\n".to_owned()
    } else {
        let mut text = String::new();
        for p in listed {
            let modules: Vec<String> = p.modules.iter().map(|(m, v)| format!("{m} {v}")).collect();
            let age = age_days(p).map_or("?".to_owned(), |d| format!("{d} d"));
            text.push_str(&format!(
                "pr-{}  {}  {age}  {}\n",
                p.number,
                modules.join(", "),
                url(p.number)
            ));
        }
        text
    };
    write!(stdout, "{}", crate::github::commands::inert(&text)).map_err(Error::stdout)
}
