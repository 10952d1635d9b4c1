use std::collections::BTreeSet;

use proptest::prelude::*;

use super::*;

fn set(urls: &[&str]) -> BTreeSet<String> {
    urls.iter().map(|u| (*u).to_owned()).collect()
}

fn paths(selected: &[Selected]) -> Vec<&str> {
    selected.iter().map(|s| s.path.as_str()).collect()
}

#[test]
fn within_budget_every_changed_url_is_its_own_path() {
    let changed = set(&["/m/index.html", "/m/remoteEntry.js"]);
    let objects = set(&["/m/index.html", "/m/remoteEntry.js", "/m/a.1234abcd.js"]);
    assert_eq!(
        paths(&select(&changed, &objects, "/m/", 5)),
        ["/m/index.html", "/m/remoteEntry.js"]
    );
}

#[test]
fn over_budget_the_folder_with_fewest_unchanged_objects_is_swept() {
    // Five changed files in locales/, two at the root; locales/ has one unchanged file,
    // the root has a hundred hashed chunks.
    let mut objects: Vec<String> = (0..100).map(|i| format!("/m/{i}.0a1b2c3d.js")).collect();
    objects.extend((0..5).map(|i| format!("/m/locales/l{i}.json")));
    objects.push("/m/locales/keep.json".to_owned());
    objects.extend([
        "/m/remoteEntry.js".to_owned(),
        "/m/mf-manifest.json".to_owned(),
    ]);
    let mut changed: Vec<String> = (0..5).map(|i| format!("/m/locales/l{i}.json")).collect();
    changed.extend([
        "/m/remoteEntry.js".to_owned(),
        "/m/mf-manifest.json".to_owned(),
    ]);
    let chosen = select(
        &changed.iter().cloned().collect(),
        &objects.iter().cloned().collect(),
        "/m/",
        3,
    );
    assert_eq!(
        paths(&chosen),
        ["/m/mf-manifest.json", "/m/remoteEntry.js", "/m/locales/*"]
    );
    assert_eq!(chosen[2].swept, 1);
    assert_eq!(chosen[2].encoded(), "/m/locales/*");
}

#[test]
fn budget_of_one_falls_back_to_the_module_prefix_never_wider() {
    let changed = set(&["/m/a.txt", "/m/b/c.txt"]);
    let objects = set(&["/m/a.txt", "/m/b/c.txt", "/m/x.0a1b2c3d.js"]);
    let chosen = select(&changed, &objects, "/m/", 1);
    assert_eq!(paths(&chosen), ["/m/*"]);
    assert_eq!(chosen[0].swept, 1);
}

#[test]
fn unsafe_and_non_ascii_characters_are_encoded_and_nothing_else() {
    assert_eq!(encode("/m/my file (1).png"), "/m/my%20file%20(1).png");
    assert_eq!(encode("/m/ünï.svg"), "/m/%C3%BCn%C3%AF.svg");
    assert_eq!(encode("/m/a?b#c%d.txt"), "/m/a%3Fb%23c%25d.txt");
    assert_eq!(encode("/m/vendors~main.js"), "/m/vendors~main.js");
    assert_eq!(
        encode("/m/a+b@c=d,e;f:g&h!'$.js"),
        "/m/a+b@c=d,e;f:g&h!'$.js"
    );
    let wildcard = Selected {
        path: "/m/ü dir/*".to_owned(),
        covers: vec![],
        swept: 0,
    };
    assert_eq!(wildcard.encoded(), "/m/%C3%BC%20dir/*");
}

/// A generated module: files in up to three levels of folders, some changed.
fn module() -> impl Strategy<Value = (BTreeSet<String>, BTreeSet<String>, usize)> {
    // At most six folders (a, b, a/c, a/d, b/c, b/d), so the brute force stays small.
    let file = ("([ab](/[cd])?)?", "[e-h]", any::<bool>());
    (proptest::collection::vec(file, 1..30), 1usize..6).prop_map(|(files, budget)| {
        let mut objects = BTreeSet::new();
        let mut changed = BTreeSet::new();
        for (dir, name, is_changed) in files {
            let dir = dir.trim_start_matches('/');
            let url = if dir.is_empty() {
                format!("/m/{name}")
            } else {
                format!("/m/{dir}/{name}")
            };
            objects.insert(url.clone());
            if is_changed {
                changed.insert(url);
            }
        }
        (changed, objects, budget)
    })
}

fn covered(url: &str, selected: &[Selected]) -> bool {
    selected.iter().any(|s| match s.path.strip_suffix('*') {
        Some(prefix) => url.starts_with(prefix),
        None => s.path == url,
    })
}

fn swept(selected: &[Selected], changed: &BTreeSet<String>, objects: &BTreeSet<String>) -> usize {
    objects
        .iter()
        .filter(|o| !changed.contains(*o) && covered(o, selected))
        .count()
}

/// The cheapest sweep over every choice of folder wildcards (exhaustive, small trees).
fn brute_force(changed: &BTreeSet<String>, objects: &BTreeSet<String>, budget: usize) -> usize {
    let folders: Vec<String> = objects
        .iter()
        .flat_map(|o| {
            let parts: Vec<&str> = o.trim_start_matches('/').split('/').collect();
            (1..parts.len()).map(move |n| format!("/{}/", parts[..n].join("/")))
        })
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut best = usize::MAX;
    for mask in 0u32..(1 << folders.len()) {
        let wildcards: Vec<Selected> = folders
            .iter()
            .enumerate()
            .filter(|(i, _)| mask & (1 << i) != 0)
            .map(|(_, f)| Selected {
                path: format!("{f}*"),
                covers: vec![],
                swept: 0,
            })
            .collect();
        let exact = changed.iter().filter(|c| !covered(c, &wildcards)).count();
        if wildcards.len() + exact <= budget {
            best = best.min(swept(&wildcards, changed, objects));
        }
    }
    best
}

proptest! {
    #[test]
    fn selection_covers_everything_stays_inside_and_within_budget((changed, objects, budget) in module()) {
        let chosen = select(&changed, &objects, "/m/", budget);
        prop_assert!(changed.iter().all(|c| covered(c, &chosen)), "uncovered: {:?}", chosen);
        prop_assert!(chosen.iter().all(|s| s.path.starts_with("/m/")));
        prop_assert!(chosen.len() <= budget.max(changed.len().min(budget)));
        prop_assert!(chosen.iter().all(|s| !s.path[..s.path.len() - 1].contains('*')));
        prop_assert_eq!(chosen.iter().map(|s| s.swept).sum::<usize>(), swept(&chosen, &changed, &objects));
    }

    #[test]
    fn selection_sweeps_the_fewest_unchanged_objects((changed, objects, budget) in module()) {
        prop_assume!(!changed.is_empty());
        let chosen = select(&changed, &objects, "/m/", budget);
        prop_assert_eq!(swept(&chosen, &changed, &objects), brute_force(&changed, &objects, budget));
    }
}
