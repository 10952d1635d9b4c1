//! The rollouts themselves, decided in the browser: shares of users, sticky buckets
//! as the share widens, aborts, promotions under an open page, and two modules.

use super::*;

#[test]
fn a_canary_at_10_percent_serves_10_percent_of_1000_users_give_or_take_3_points() {
    let site = Site::start("canary-share");
    site.publish([
        canary(stable("checkout", CHECKOUT.0, None), CHECKOUT.1, 10, "r-1"),
        stable("cart", CART.0, None),
    ]);
    // Buckets set by the page, then buckets the runtime draws on a first visit.
    for query in ["?users=1000", "?users=1000&draw"] {
        let users = site.users(query);
        let share = users.share("checkout");
        eprintln!("{query}: checkout's canary at 10% served {share}% of users");
        // The seeded users are the same every run; the runtime's own draws are random,
        // and ±4.5 points is 4.7 standard deviations at 1,000 users: a run that lands
        // outside is a broken draw, not bad luck.
        let within = if query.ends_with("draw") { 4.5 } else { 3.0 };
        assert!(
            (10.0 - within..=10.0 + within).contains(&share),
            "{query}: the canary at 10% served {share}% of 1000 users"
        );
        assert_eq!(users.share("cart"), 0.0, "{query}: cart has no canary");
        let distinct: BTreeSet<&String> = users.buckets.iter().collect();
        assert_eq!(distinct.len(), 1000, "{query}: every user is a fresh draw");
        for bucket in &users.buckets {
            let number: f64 = bucket.parse().unwrap();
            assert!((0.0..1.0).contains(&number), "{query}: bucket {bucket}");
        }
    }
}

#[test]
fn users_in_the_canary_at_10_percent_stay_in_it_at_25_and_50_percent_of_the_same_rollout() {
    let site = Site::start("canary-sticky");
    let at = |percent| {
        [
            canary(
                stable("checkout", CHECKOUT.0, None),
                CHECKOUT.1,
                percent,
                "r-1",
            ),
            stable("cart", CART.0, None),
        ]
    };
    site.publish(at(10));
    let first = site.users("?users=1000");
    site.keep_users(&first);
    let mut before = first.in_canary("checkout");
    let mut shares = vec![(10, first.share("checkout"))];
    assert!(!before.is_empty(), "nobody in the canary at 10%");
    for percent in [25, 50] {
        site.publish(at(percent));
        let users = site.users("?from=/users.json");
        assert_eq!(users.buckets, first.buckets, "{percent}%: the same users");
        let now = users.in_canary("checkout");
        let left: Vec<&String> = before
            .difference(&now)
            .map(|&i| &users.buckets[i])
            .collect();
        assert!(
            left.is_empty(),
            "{percent}%: {} users left the canary, e.g. buckets {:?}",
            left.len(),
            &left[..left.len().min(5)]
        );
        assert!(
            now.len() > before.len(),
            "{percent}%: the canary did not grow ({} users, {} before)",
            now.len(),
            before.len()
        );
        shares.push((percent, users.share("checkout")));
        before = now;
    }
    eprintln!("checkout's canary (percent, share of the same 1000 users): {shares:?}");
}

#[test]
fn after_an_abort_and_a_reload_every_user_gets_the_stable_builds() {
    let site = Site::start("canary-abort");
    site.publish([
        canary(stable("checkout", CHECKOUT.0, None), CHECKOUT.1, 10, "r-1"),
        stable("cart", CART.0, None),
    ]);
    let during = site.users("?users=1000");
    site.keep_users(&during);
    let in_canary = during.in_canary("checkout");
    let one = &during.buckets[*in_canary.first().expect("nobody in the canary at 10%")];
    let browser = tempfile::tempdir().unwrap();
    let page = site.shell(browser.path(), &format!("?bucket={one}"));
    assert_eq!(
        ran(&page, "first"),
        runs(&[("checkout", CHECKOUT.1), ("cart", CART.0)]),
        "a user in the canary runs it: {page}"
    );

    site.publish([
        stable("checkout", CHECKOUT.0, None),
        stable("cart", CART.0, None),
    ]);
    let after = site.users("?from=/users.json");
    assert_eq!(after.buckets, during.buckets, "the same users");
    for (module, channels) in &after.channels {
        let canaries = channels.matches('c').count();
        assert_eq!(canaries, 0, "{module}: {canaries} users still in a canary");
    }
    let page = site.shell(browser.path(), "");
    assert_eq!(
        page["bucket"],
        one.as_str(),
        "the reload kept the user's bucket"
    );
    assert_eq!(
        ran(&page, "first"),
        runs(&[("checkout", CHECKOUT.0), ("cart", CART.0)]),
        "the user who had the canary runs the stable build after a reload: {page}"
    );
}

#[test]
fn a_page_opened_before_a_promotion_keeps_its_builds_until_it_reloads() {
    let site = Site::start("canary-promote");
    site.publish([
        canary(stable("checkout", CHECKOUT.0, None), CHECKOUT.1, 10, "r-1"),
        stable("cart", CART.0, None),
    ]);
    // A user the canary does not serve: the promotion changes their checkout.
    let users = site.users("?users=50");
    let stable_user = users.channels["checkout"]
        .find('s')
        .map(|i| users.buckets[i].clone())
        .expect("all 50 users in a canary at 10%");
    let before = runs(&[("checkout", CHECKOUT.0), ("cart", CART.0)]);

    let browser = tempfile::tempdir().unwrap();
    let gate = Gate::new();
    let query = format!("?bucket={stable_user}&gate={}", gate.port);
    let page = std::thread::scope(|scope| {
        let page = scope.spawn(|| site.shell(browser.path(), &query));
        let held = gate.wait(|| page.is_finished());
        site.publish([
            stable("checkout", CHECKOUT.1, Some(CHECKOUT.0)),
            stable("cart", CART.0, None),
        ]);
        held.release();
        page.join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    });
    assert_eq!(ran(&page, "first"), before, "{page}");
    let live = &page["later"]["live"]["modules"]["checkout"];
    assert_eq!(
        (live["version"].as_str(), live.get("canary")),
        (Some(CHECKOUT.1), None),
        "the open page could see the promotion: {page}"
    );
    assert_eq!(
        page["later"]["entries"], page["first"]["entries"],
        "the open page is given the same entries after the promotion: {page}"
    );
    assert_eq!(
        ran(&page, "later"),
        runs(&[
            ("checkout", CHECKOUT.0),
            ("cart", CART.0),
            ("checkout", CHECKOUT.0),
            ("cart", CART.0)
        ]),
        "the open page runs its old builds again: {page}"
    );
    assert_eq!(
        page["reads"], 1,
        "the plugin read the manifest once: {page}"
    );

    let reloaded = site.shell(browser.path(), "");
    assert_eq!(
        reloaded["bucket"],
        stable_user.as_str(),
        "the reload kept the bucket"
    );
    assert_eq!(
        ran(&reloaded, "first"),
        runs(&[("checkout", CHECKOUT.1), ("cart", CART.0)]),
        "a reload runs the promoted build: {reloaded}"
    );
}

#[test]
fn two_modules_rolling_out_at_50_percent_share_a_quarter_of_the_users_not_half() {
    let site = Site::start("canary-decorrelated");
    site.publish([
        canary(
            stable("checkout", CHECKOUT.0, None),
            CHECKOUT.1,
            50,
            "r-checkout-1",
        ),
        canary(stable("cart", CART.0, None), CART.1, 50, "r-cart-1"),
    ]);
    let users = site.users("?users=1000");
    let both = users
        .in_canary("checkout")
        .intersection(&users.in_canary("cart"))
        .count();
    let share = percent(both, users.buckets.len());
    eprintln!(
        "checkout {}%, cart {}%, both {share}% of 1000 users",
        users.share("checkout"),
        users.share("cart")
    );
    assert!(
        (21.0..=29.0).contains(&share),
        "{share}% of 1000 users got both canaries at 50% (independent: about 25%)"
    );
}
