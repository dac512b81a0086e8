//! the remote-region settings of the binary, in every source: a YAML map, a
//! properties map, Java's `name;url,name;url` form in the environment, a flag; a bad URL
//! stops the binary with exit 2 naming the key.

use super::{line, run, scratch, write};

const KEY: &str = "eureka.server.remote-region-urls-with-name";

#[test]
fn r130_remote_regions_from_a_yaml_map_a_properties_map_env_and_flags() {
    let dir = scratch("regions");
    let yml = write(
        &dir.join("application.yml"),
        "eureka:\n  server:\n    remote-region-urls-with-name:\n      us-west: http://127.0.0.1:1/eureka/\n      eu-Central: http://u:secret@127.0.0.1:2/eureka\n    remote-region-registry-fetch-interval: 5\n    disable-transparent-fallback-to-other-region: true\n",
    );
    let (status, out, err) = run(&["--config", &yml, "--print-config"], &[]);
    assert!(status.success(), "{status}: {err}");
    assert_eq!(
        line(&out, KEY),
        format!(
            "{KEY} = eu-central;http://127.0.0.1:2/eureka/,us-west;http://127.0.0.1:1/eureka/ # file {yml} (eureka.server.remote-region-urls-with-name)"
        )
    );
    assert!(
        !out.contains("secret"),
        "a region's password is printed:\n{out}"
    );
    assert!(
        line(&out, "eureka.server.remote-region-registry-fetch-interval").contains("= 5 # file"),
        "{out}"
    );
    assert!(
        line(
            &out,
            "eureka.server.disable-transparent-fallback-to-other-region"
        )
        .contains("= true # file"),
        "{out}"
    );
    assert!(!err.contains("unknown key"), "{err}");

    let props = write(
        &dir.join("application.properties"),
        "eureka.server.remoteRegionUrlsWithName.ap=http://127.0.0.1:3/eureka/\n",
    );
    let (status, out, err) = run(&["--config", &props, "--print-config"], &[]);
    assert!(status.success(), "{status}: {err}");
    assert!(
        line(&out, KEY).starts_with(&format!("{KEY} = ap;http://127.0.0.1:3/eureka/")),
        "{out}"
    );

    // Java's form, in the environment; a flag adds to nothing below it (flags win whole).
    let env = [(
        "EUREKA_SERVER_REMOTEREGIONURLSWITHNAME",
        "r1;http://127.0.0.1:4/eureka/,r2;http://127.0.0.1:5/eureka/",
    )];
    let (status, out, _) = run(&["--print-config"], &env);
    assert!(status.success());
    assert!(
        line(&out, KEY)
            .contains("r1;http://127.0.0.1:4/eureka/,r2;http://127.0.0.1:5/eureka/ # env"),
        "{out}"
    );
    let (status, out, _) = run(
        &[
            "--print-config",
            "--remote-region",
            "x=http://127.0.0.1:6/eureka",
        ],
        &env,
    );
    assert!(status.success());
    assert!(
        line(&out, KEY).contains("= x;http://127.0.0.1:6/eureka/ # flag"),
        "{out}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn r130_a_bad_remote_region_exits_2_naming_the_key() {
    for (args, env, names) in [
        (
            vec!["--remote-region", "eu;ftp://h/eureka"],
            vec![],
            "flag --remote-region",
        ),
        (
            vec!["--remote-region", "http://h/eureka"],
            vec![],
            "expected region;url",
        ),
        (
            vec![],
            vec![("EUREKA_SERVER_REMOTEREGIONURLSWITHNAME", "eu;http://")],
            "env EUREKA_SERVER_REMOTEREGIONURLSWITHNAME",
        ),
        (
            vec!["--remote-region-fetch-interval", "0"],
            vec![],
            "eureka.server.remote-region-registry-fetch-interval",
        ),
    ] {
        let (status, _, err) = run(&args, &env);
        assert_eq!(status.code(), Some(2), "{args:?} {env:?}: {err}");
        assert!(err.contains(names), "{args:?}: {err}");
        if !args.contains(&"--remote-region-fetch-interval") {
            assert!(err.contains(KEY), "{err}");
        }
    }
}
