//! The shape of `src/`: no module imports one that (directly or not) imports it back,
//! and the vocabulary, the config and the layout import nothing of the pipeline.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::common::walk;

/// Top-level module → the top-level modules its non-test code names (`crate::x`).
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for path in walk(&src) {
        let rel = path
            .strip_prefix(&src)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        if !rel.ends_with(".rs") || rel == "main.rs" || rel == "lib.rs" {
            continue;
        }
        if rel.ends_with("tests.rs") || rel.contains("/tests/") {
            continue;
        }
        let module = rel
            .split('/')
            .next()
            .unwrap()
            .trim_end_matches(".rs")
            .to_owned();
        let text = std::fs::read_to_string(&path).unwrap();
        let code = text.split("#[cfg(test)]").next().unwrap_or_default();
        let deps = graph.entry(module.clone()).or_default();
        for (i, _) in code.match_indices("crate::") {
            let name: String = code[i + 7..]
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                .collect();
            if !name.is_empty() && name != module {
                deps.insert(name);
            }
        }
    }
    graph
}

fn reaches(
    graph: &BTreeMap<String, BTreeSet<String>>,
    from: &str,
    to: &str,
) -> Option<Vec<String>> {
    let mut stack = vec![vec![from.to_owned()]];
    let mut seen = BTreeSet::new();
    while let Some(path) = stack.pop() {
        let last = path.last().unwrap().clone();
        for next in graph.get(&last).into_iter().flatten() {
            let mut longer = path.clone();
            longer.push(next.clone());
            if next == to {
                return Some(longer);
            }
            if seen.insert(next.clone()) {
                stack.push(longer);
            }
        }
    }
    None
}

#[test]
fn no_module_imports_one_that_imports_it_back() {
    let graph = graph();
    assert!(graph.len() > 20, "the source tree was read: {graph:?}");
    for module in graph.keys() {
        if let Some(cycle) = reaches(&graph, module, module) {
            panic!("import cycle: {}", cycle.join(" → "));
        }
    }
}

#[test]
fn the_vocabulary_config_and_layout_import_no_stage() {
    let graph = graph();
    let leaves = BTreeSet::from(["model", "globs", "clock", "layout"].map(str::to_owned));
    for leaf in &leaves {
        assert!(
            graph[leaf].is_subset(&leaves),
            "{leaf} imports {:?}",
            graph[leaf]
        );
    }
    let allowed: BTreeSet<String> = leaves.iter().cloned().chain(["cdn".to_owned()]).collect();
    let config = &graph["config"];
    assert!(config.is_subset(&allowed), "config imports {config:?}");
    for stage in graph.keys().filter(|m| *m != "shell") {
        assert!(!graph[stage].contains("shell"), "{stage} imports the shell");
    }
}

/// Within each folder of `src/`: file → the sibling files its non-test code names,
/// through `super::x`, `super::{x, …}`, `self::x` or `crate::<folder>::x`. The
/// folder's `mod.rs` (its face) is left out: children may use what it gathers.
fn sibling_graphs() -> BTreeMap<String, BTreeMap<String, BTreeSet<String>>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut folders: BTreeMap<String, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for path in walk(&src) {
        let rel = path
            .strip_prefix(&src)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let Some((folder, file)) = rel.rsplit_once('/') else {
            continue;
        };
        if !file.ends_with(".rs") || file == "mod.rs" || file.ends_with("tests.rs") {
            continue;
        }
        if folder.split('/').any(|part| part == "tests") {
            continue;
        }
        let siblings: BTreeSet<String> = std::fs::read_dir(src.join(folder))
            .unwrap()
            .filter_map(|e| {
                let name = e.unwrap().file_name().to_string_lossy().into_owned();
                let stem = name.strip_suffix(".rs").unwrap_or(&name).to_owned();
                (stem != "mod").then_some(stem)
            })
            .collect();
        let me = file.trim_end_matches(".rs").to_owned();
        let text = std::fs::read_to_string(&path).unwrap();
        let code = text.split("#[cfg(test)]").next().unwrap_or_default();
        let mut named = BTreeSet::new();
        let crate_path = format!("crate::{}::", folder.replace('/', "::"));
        for lead in ["super::", "self::", crate_path.as_str()] {
            for (i, _) in code.match_indices(lead) {
                let rest = &code[i + lead.len()..];
                // `super::{a, b::c}` names several; `super::a::…` one.
                let group = match rest.strip_prefix('{') {
                    Some(inner) => inner.split('}').next().unwrap_or_default(),
                    None => rest
                        .split([':', ';', '<', '(', ' ', '\n'])
                        .next()
                        .unwrap_or_default(),
                };
                for item in group.split(',') {
                    let name: String = item
                        .trim()
                        .chars()
                        .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
                        .collect();
                    if name != me && siblings.contains(&name) {
                        named.insert(name);
                    }
                }
            }
        }
        folders
            .entry(folder.to_owned())
            .or_default()
            .insert(me, named);
    }
    folders
}

#[test]
fn no_file_imports_a_sibling_that_imports_it_back() {
    let folders = sibling_graphs();
    assert!(
        folders["deploy"]["in_place"].contains("pipeline"),
        "the sibling imports were read: {:?}",
        folders["deploy"]
    );
    for (folder, graph) in &folders {
        for file in graph.keys() {
            if let Some(cycle) = reaches(graph, file, file) {
                panic!("import cycle in src/{folder}/: {}", cycle.join(" → "));
            }
        }
    }
}
