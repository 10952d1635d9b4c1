//! Choosing invalidation paths: cover every changed URL, stay inside the module's
//! prefix, stay within the path budget, and sweep as few unchanged objects as possible.
//!
//! Within budget, each changed URL is its own path. Above it, a dynamic programme over
//! the module's folder tree chooses, per folder, between one wildcard (`/m/dir/*`,
//! sweeping every unchanged object below it, counted from the listing) and the best
//! mix of its children's choices; the cheapest result within the budget wins.

use std::collections::{BTreeMap, BTreeSet};

/// One path to invalidate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selected {
    /// Decoded path; a wildcard ends with `*`.
    pub path: String,
    /// Changed URLs it covers.
    pub covers: Vec<String>,
    /// Unchanged objects a wildcard also sweeps.
    pub swept: usize,
}

impl Selected {
    /// One URL as its own path.
    pub fn exact(url: &str) -> Self {
        Self {
            path: url.to_owned(),
            covers: vec![url.to_owned()],
            swept: 0,
        }
    }

    pub fn is_wildcard(&self) -> bool {
        self.path.ends_with('*')
    }

    /// The path as CloudFront wants it: non-ASCII and RFC 1738 "unsafe" characters
    /// percent-encoded, nothing else (AWS API reference, `InvalidationBatch.Paths`).
    pub fn encoded(&self) -> String {
        match self.path.strip_suffix('*') {
            Some(prefix) => format!("{}*", encode(prefix)),
            None => encode(&self.path),
        }
    }
}

/// Percent-encodes what CloudFront requires: controls, space, `"#%<>[\]^`{|}`, `?`
/// (it would start a query) and `*` (it would read as a wildcard), and non-ASCII.
/// `~` stays literal: browsers send it unencoded (RFC 3986 unreserved).
pub fn encode(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        let unsafe_byte = !b.is_ascii_graphic() || br##""#%<>[\]^`{|}?*"##.contains(&b);
        if unsafe_byte {
            out.push_str(&format!("%{b:02X}"));
        } else {
            out.push(char::from(b));
        }
    }
    out
}

#[derive(Debug, Default)]
struct Node {
    children: BTreeMap<String, Node>,
    /// Changed URLs whose folder is this node (files, and the folder URL itself).
    exact: Vec<String>,
    total: usize,
    changed: usize,
}

impl Node {
    fn insert(&mut self, rel: &str, url: &str, changed: bool) {
        self.total += 1;
        self.changed += usize::from(changed);
        match rel.split_once('/') {
            Some((dir, rest)) => self
                .children
                .entry(dir.to_owned())
                .or_default()
                .insert(rest, url, changed),
            None if changed => self.exact.push(url.to_owned()),
            None => {}
        }
    }
}

/// A solution for a subtree: (unchanged swept, selected paths).
type Solution = Option<(usize, Vec<Selected>)>;

/// Selects paths under `root` (a folder URL ending with `/`) for the `changed` URLs;
/// `objects` are all URLs known under `root` (changed or not). `budget` ≥ 1.
pub fn select(
    changed: &BTreeSet<String>,
    objects: &BTreeSet<String>,
    root: &str,
    budget: usize,
) -> Vec<Selected> {
    let budget = budget.max(1);
    if changed.len() <= budget {
        return changed.iter().map(|url| Selected::exact(url)).collect();
    }
    let mut tree = Node::default();
    for url in objects.union(changed) {
        if let Some(rel) = url.strip_prefix(root) {
            tree.insert(rel, url, changed.contains(url));
        }
    }
    let table = solve(&tree, root, budget);
    table
        .into_iter()
        .flatten()
        .min_by_key(|(swept, paths)| (*swept, paths.len()))
        .map(|(_, paths)| paths)
        .unwrap_or_default()
}

/// `result[k]`: the cheapest cover of this subtree's changes with exactly `k` paths.
fn solve(node: &Node, folder: &str, budget: usize) -> Vec<Solution> {
    let mut combo: Vec<Solution> = vec![None; budget + 1];
    if node.exact.len() <= budget {
        let exact = node.exact.iter().map(|url| Selected::exact(url)).collect();
        combo[node.exact.len()] = Some((0, exact));
    }
    for (name, child) in &node.children {
        if child.changed == 0 {
            continue;
        }
        let sub = solve(child, &format!("{folder}{name}/"), budget);
        let mut next: Vec<Solution> = vec![None; budget + 1];
        for (i, left) in combo.iter().enumerate() {
            let Some((left_cost, left_paths)) = left else {
                continue;
            };
            for (j, right) in sub.iter().enumerate().take(budget + 1 - i) {
                let Some((right_cost, right_paths)) = right else {
                    continue;
                };
                let cost = left_cost + right_cost;
                if next[i + j].as_ref().is_none_or(|(best, _)| cost < *best) {
                    next[i + j] = Some((
                        cost,
                        [left_paths.as_slice(), right_paths.as_slice()].concat(),
                    ));
                }
            }
        }
        combo = next;
    }
    let swept = node.total - node.changed;
    if combo[1].as_ref().is_none_or(|(best, _)| swept < *best) {
        let mut covers = Vec::new();
        collect_changed(node, &mut covers);
        combo[1] = Some((
            swept,
            vec![Selected {
                path: format!("{folder}*"),
                covers,
                swept,
            }],
        ));
    }
    combo
}

fn collect_changed(node: &Node, out: &mut Vec<String>) {
    out.extend(node.exact.iter().cloned());
    for child in node.children.values() {
        collect_changed(child, out);
    }
}

#[cfg(test)]
mod tests;
