//! What a run says before it writes: the plan, the invalidation, the distribution's
//! audit, and warnings, none of which may pass for a workflow command.

use std::io::Write;

use super::Job;
use super::{Context, Presentation};
use crate::audit;
use crate::cdn::{Cdn, DistributionInfo};
use crate::error::Error;
use crate::github::commands;
use crate::invalidate::InvalidationPlan;
use crate::plan::{Detail, Plan};
use crate::report::Report;
use crate::store::ObjectStore;

/// Prints the plan and the invalidation, audits the distribution, and warns.
pub async fn plan<S: ObjectStore, C: Cdn>(
    ctx: &Context<'_, S, C>,
    job: &Job<'_>,
    plan: &Plan,
    invalidation: &InvalidationPlan,
    distribution: Option<&DistributionInfo>,
    r: &mut Report,
    out: &mut dyn Write,
) -> Result<(), Error> {
    let (request, layout) = (job.request, job.layout);
    let detail = if request.dry_run {
        Detail::All
    } else {
        Detail::Changes
    };
    // The plan names every file of the build: nothing in it may pass for a workflow command.
    write!(out, "{}", commands::inert(&plan.render(detail))).map_err(Error::stdout)?;
    if let Some(d) = distribution {
        let text = render_invalidation(invalidation, &d.id);
        write!(out, "{}", commands::inert(&text)).map_err(Error::stdout)?;
        // Keys this deploy writes count as existing: a shell deploy creates the
        // default root object the distribution points at.
        r.audit = audit::check(ctx.store, d, &request.bucket, layout, |k| {
            plan.files.iter().any(|f| f.key == k)
        })
        .await;
        // NOTE: whether the records are readable through the CDN depends on the
        // bucket policy, which the distribution cannot show: `mfe-deploy audit`
        // says it once rather than every deploy warning about it.
        r.audit.retain(|f| f.code != "records-served");
    }
    warn_unhashed(r, ctx.presentation, out)?;
    warn_findings(r, ctx.presentation, out)
}

fn warn_findings(
    report: &Report,
    presentation: Presentation,
    out: &mut dyn Write,
) -> Result<(), Error> {
    if presentation.annotations {
        commands::audit_warnings(&mut *out, &report.audit).map_err(Error::stdout)?;
    } else {
        for f in &report.audit {
            let text = format!(
                "CloudFront audit: {}. Why: {}. Fix: {}",
                f.what, f.why, f.fix
            );
            tracing::warn!("{}", commands::inert(&text));
        }
    }
    Ok(())
}

fn render_invalidation(plan: &InvalidationPlan, distribution: &str) -> String {
    if plan.is_empty() {
        return format!(
            "CloudFront {distribution}: nothing to invalidate (no bytes changed at an existing fixed address)\n"
        );
    }
    let mut text = format!(
        "CloudFront {distribution}: invalidate {} path(s)\n",
        plan.paths.len()
    );
    for (path, why) in plan.explain() {
        text.push_str(&format!("    {path}  ({why})\n"));
    }
    text
}

fn warn_unhashed(
    report: &Report,
    presentation: Presentation,
    out: &mut dyn Write,
) -> Result<(), Error> {
    if report.unhashed_code.is_empty() {
        return Ok(());
    }
    if presentation.annotations {
        commands::unhashed_code_warnings(&mut *out, &report.unhashed_code)
            .map_err(Error::stdout)?;
    } else {
        for file in &report.unhashed_code {
            tracing::warn!(
                "{} has no content hash in its name: served short-lived; use `[name].[contenthash].js` in the bundler's output file names",
                commands::inert(file)
            );
        }
    }
    Ok(())
}
