//! What a parser that is taken over can see and reach: a stand-in for `folio extract-child` (a shell script)
//! dumps its environment, its limits and its privileges, and tries to open a TCP connection to a listener
//! on 127.0.0.1, while this process holds every secret a Folio process may hold in its environment. One test
//! in a binary of its own: it sets this process's environment, which no other thread may read meanwhile.

use folio::worker::sandbox::Sandbox;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

const SECRETS: &[(&str, &str)] = &[
    ("FOLIO_GATEWAY_TOKENS", "portal:uploader:isolation-token-4711"),
    ("FOLIO_GATEWAY_TOKEN", "isolation-admin-token-0815"),
    ("FOLIO_SIGNING_KEY", "5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed"),
    ("FOLIO_WEBHOOK_URL", "https://hooks.example/build?token=isolation-hook-secret"),
    ("FOLIO_DATABASE_URL", "postgres://folio:isolation-db-password@db/folio"),
    ("FOLIO_QUEUE_URL", "amqp://folio:isolation-mq-password@mq:5672/%2f"),
    ("AWS_SECRET_ACCESS_KEY", "isolation-aws-secret"),
];

#[tokio::test]
async fn a_parser_sees_no_secret_reaches_no_network_and_runs_under_its_limits() {
    for (name, value) in SECRETS {
        std::env::set_var(name, value);
    }
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();

    let dir = tempfile::tempdir().unwrap();
    let seen = dir.path().join("seen.txt");
    let input = dir.path().join("input.pdf");
    std::fs::write(&input, b"%PDF-1.4 not really").unwrap();
    let program = dir.path().join("stand-in");
    std::fs::write(
        &program,
        format!(
            "#!/bin/bash\n\
             out={seen}\n\
             env > $out\n\
             echo \"cpu=$(ulimit -t) fsize=$(ulimit -f) core=$(ulimit -c) as=$(ulimit -v)\" >> $out\n\
             grep NoNewPrivs /proc/self/status >> $out\n\
             if (exec 3<>/dev/tcp/127.0.0.1/{port}) 2>/dev/null; then echo tcp=connected >> $out; else echo tcp=refused >> $out; fi\n\
             exit 1\n",
            seen = seen.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).unwrap();

    let mut sandbox = Sandbox::with_program(program);
    sandbox.timeout = Duration::from_secs(20);
    sandbox.cpu_secs = 30;
    sandbox.max_write_bytes = 64 << 20;
    sandbox.memory_bytes = 1 << 30;
    sandbox.password = Some("the-document-password".into());
    let e = sandbox.extract(&input, "input.pdf").await;
    assert!(e.record.error.is_some(), "the stand-in answers no record");

    let mut text = String::new();
    std::fs::File::open(&seen).expect("the stand-in ran").read_to_string(&mut text).unwrap();
    for (name, value) in SECRETS {
        assert!(!text.contains(value), "{name}'s value reached the parser:\n{text}");
        assert!(!text.contains(&format!("{name}=")), "{name} reached the parser:\n{text}");
    }
    assert!(text.contains("FOLIO_DOCUMENT_PASSWORD=the-document-password"), "its own document's password only");
    assert!(text.contains("PATH="), "the allowlist keeps PATH:\n{text}");
    assert!(text.contains("cpu=30 fsize=65536 core=0 as=1048576"), "its limits:\n{text}");
    assert!(text.contains("NoNewPrivs:\t1"), "no new privileges:\n{text}");
    assert!(text.contains("tcp=refused"), "no network:\n{text}");
    assert!(listener.accept().is_err(), "the listener on 127.0.0.1 saw no connection");
}
