use super::*;

fn chunk() -> Expected {
    Expected {
        url: "https://shop.example.com/checkout/v1/main.1a2b3c4d.js".to_owned(),
        key: "checkout/v1/main.1a2b3c4d.js".to_owned(),
        size: 4,
        sha256: "aa".repeat(32),
        etag: Some("0123456789abcdef0123456789abcdef".to_owned()),
        content_type: "text/javascript; charset=utf-8".to_owned(),
        cache_control: "public, max-age=31536000, immutable".to_owned(),
    }
}

fn served_right() -> Observed {
    Observed {
        status: 200,
        content_type: Some("text/javascript".to_owned()),
        cache_control: Some("max-age=31536000,immutable,public".to_owned()),
        length: Some(4),
        etag: Some("\"0123456789abcdef0123456789abcdef\"".to_owned()),
        sha256: Some("aa".repeat(32)),
        ..Observed::default()
    }
}

#[test]
fn the_right_answer_has_no_problem_whatever_the_header_spelling() {
    assert_eq!(compare(&chunk(), &served_right()), []);
}

#[test]
fn the_spa_fallback_under_a_chunk_url_is_wrong_in_type_class_and_bytes() {
    let fallback = Observed {
        content_type: Some("text/html".to_owned()),
        cache_control: Some("no-cache".to_owned()),
        length: Some(512),
        sha256: Some("bb".repeat(32)),
        ..served_right()
    };
    let problems = compare(&chunk(), &fallback);
    assert!(
        matches!(problems[0], Problem::ContentType { .. }),
        "{problems:?}"
    );
    assert_eq!(
        problems[1],
        Problem::CacheClass {
            expected: CacheClass::Long,
            got: "no-cache".to_owned()
        }
    );
    assert!(matches!(problems[2], Problem::Bytes { .. }));
    assert_eq!(problems.len(), 3);
}

#[test]
fn a_cached_error_is_wrong_by_its_status() {
    let error = Observed {
        status: 404,
        ..served_right()
    };
    assert_eq!(compare(&chunk(), &error), [Problem::Status(404)]);
}

#[test]
fn cache_control_values_fall_in_classes() {
    let class = |v: &str| CacheClass::of(Some(v));
    assert_eq!(class("no-store, no-cache"), CacheClass::NoStore);
    assert_eq!(class("no-cache"), CacheClass::Revalidate);
    assert_eq!(
        class("public, max-age=0, must-revalidate"),
        CacheClass::Revalidate
    );
    assert_eq!(class("public, max-age=300"), CacheClass::Short);
    assert_eq!(class("max-age=86400"), CacheClass::Long);
    assert_eq!(class("public, immutable"), CacheClass::Long);
    assert_eq!(class("s-maxage=\"600\""), CacheClass::Short);
    assert_eq!(class("private"), CacheClass::Unset);
    assert_eq!(CacheClass::of(None), CacheClass::Unset);
}

#[test]
fn a_head_decides_by_length_and_etag_and_asks_for_the_body_otherwise() {
    let head = Observed {
        sha256: None,
        ..served_right()
    };
    assert!(compare(&chunk(), &head).is_empty());
    assert!(!needs_body(&chunk(), &head), "the recorded ETag vouches");
    let other_etag = Observed {
        etag: Some("\"ffffffffffffffffffffffffffffffff\"".to_owned()),
        ..head.clone()
    };
    assert!(needs_body(&chunk(), &other_etag));
    let short = Observed {
        length: Some(3),
        ..head
    };
    assert_eq!(
        compare(&chunk(), &short),
        [Problem::Size {
            expected: 4,
            got: 3
        }]
    );
    assert!(!needs_body(&chunk(), &short), "already wrong");
}
