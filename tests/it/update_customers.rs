//! `import --on-existing update --update-customers`: a customer already on
//! the account, not from this import, made what the batch's merged record
//! says (only what differs sent, its own metadata kept), and put back by
//! `runs rollback`; without the flag it is left as it is.

use crate::support::{bin, list_all, TestDir, TestEmulator};
use serde_json::{json, Value};

const MAPPING: &str = r#"version = 1
name = "update-customers"

[source]
format = "csv"

[invoice]
group_by = "Nr"
number = "Nr"
date = { column = "Date", date = ["%d.%m.%Y"] }
currency = { value = "MDL" }

[customer]
number = "Code"
name = "Client"
email = "Email"
city = "City"

[line]
name = "Item"
quantity = { column = "Qty", decimal = "ru" }
unit_cost = { column = "Price", decimal = "ru" }
taxes = { value = "tva20" }
"#;

/// Two documents of customer K-1 (its e-mail blank on the first, its name
/// spelled two ways), one of K-2, under invoice numbers `prefix`-N.
fn register(prefix: &str) -> String {
    format!(
        "Nr,Date,Code,Client,Email,City,Item,Qty,Price\n\
         {prefix}-1,05.03.2024,K-1,Alfa Grup SRL,,Bălți,Pâine,2,\"10,50\"\n\
         {prefix}-2,06.03.2024,K-2,Beta SRL,beta@example.md,Chișinău,Lapte,1,\"7,00\"\n\
         {prefix}-3,07.03.2024,K-1,ALFA GRUP S.R.L.,contabil@alfa.md,Bălți,Sare,3,\"2,25\"\n"
    )
}

fn run(dir: &TestDir, emu: &TestEmulator, args: &[&str]) -> (i32, String) {
    let out = bin(dir.path())
        .env("FACTURARE_API_KEY", emu.key())
        .args(["--api-url", emu.url()])
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn customer(emu: &TestEmulator, number: &str) -> Value {
    list_all(emu.url(), emu.key(), "/customers")
        .into_iter()
        .find(|c| c["number"] == number)
        .unwrap_or_else(|| panic!("no customer {number}"))
}

#[test]
fn customers_on_the_account_are_updated_only_when_asked_and_rolled_back() {
    let emu = TestEmulator::new();
    // K-1 is on the account already, entered by hand: another name, an
    // old e-mail, no city, metadata of its own.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let before: Value = rt.block_on(async {
        let r = emu
            .api()
            .post(
                "/customers",
                &json!({
                    "number": "K-1",
                    "name": "Alfa",
                    "email": "old@alfa.md",
                    "metadata": { "crm": "A-17" }
                }),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        r.json().await.unwrap()
    });
    let dir = TestDir::new();
    dir.write("m.toml", MAPPING);

    // Without the flag: K-1 is found and left as it is.
    dir.write("a.csv", register("A"));
    let (code, err) = run(&dir, &emu, &["import", "a.csv", "--mapping", "m.toml"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("customers: 1 created, 1 found;"), "{err}");
    assert_eq!(customer(&emu, "K-1")["name"], "Alfa");

    // The flag goes with --on-existing update only.
    dir.write("b.csv", register("B"));
    for args in [
        &[
            "import",
            "b.csv",
            "--mapping",
            "m.toml",
            "--update-customers",
        ][..],
        &[
            "import",
            "b.csv",
            "--mapping",
            "m.toml",
            "--on-existing",
            "skip",
            "--update-customers",
        ],
    ] {
        let (code, err) = run(&dir, &emu, args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains("--on-existing"), "{err}");
    }
    assert_eq!(list_all(emu.url(), emu.key(), "/invoices").len(), 3);

    // With it: K-1 made the batch's merged record (the first name, the
    // e-mail the first document lacked, the city); its metadata kept.
    let (code, err) = run(
        &dir,
        &emu,
        &[
            "import",
            "b.csv",
            "--mapping",
            "m.toml",
            "--on-existing",
            "update",
            "--update-customers",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("customers: 0 created, 0 found, 1 updated;"),
        "{err}"
    );
    let k1 = customer(&emu, "K-1");
    assert_eq!(k1["id"], before["id"], "the same customer, not a new one");
    assert_eq!(k1["name"], "Alfa Grup SRL");
    assert_eq!(k1["email"], "contabil@alfa.md");
    assert_eq!(k1["city"], "Bălți");
    assert_eq!(k1["metadata"], json!({ "crm": "A-17" }), "{k1}");
    assert_eq!(list_all(emu.url(), emu.key(), "/customers").len(), 2);
    // Again: the ledger knows K-1 as updated by run 2, K-2 as created by
    // run 1: no customer is looked up or sent.
    dir.write("c.csv", register("C"));
    let (code, err) = run(
        &dir,
        &emu,
        &[
            "import",
            "c.csv",
            "--mapping",
            "m.toml",
            "--on-existing",
            "update",
            "--update-customers",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("customers: 0 created, 0 found;"), "{err}");
    assert_eq!(customer(&emu, "K-1")["name"], "Alfa Grup SRL");

    // Rolling back the run that updated it puts K-1 back as it was.
    let (code, err) = run(&dir, &emu, &["runs", "rollback", "2"]);
    assert_eq!(code, 0, "{err}");
    let k1 = customer(&emu, "K-1");
    assert_eq!(k1["name"], "Alfa", "{err}");
    assert_eq!(k1["email"], "old@alfa.md");
    assert!(k1["city"].is_null() || k1["city"] == "", "{k1}");
    assert_eq!(k1["metadata"], json!({ "crm": "A-17" }));
}
