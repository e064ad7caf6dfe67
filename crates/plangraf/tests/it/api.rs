//! The JSON API over real HTTP. Every call goes through [`Api::call`], which looks the operation
//! up in the OpenAPI document the server publishes and validates the answer against the schema
//! documented for its status code, so the API and its document cannot disagree unnoticed.

use crate::common::*;
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::BTreeSet;

/// A machine client: no cookie jar, a bearer token, and the server's OpenAPI document.
struct Api {
    base: String,
    http: reqwest::Client,
    doc: Value,
    token: Option<String>,
}

#[derive(Debug)]
struct Reply {
    status: u16,
    content_type: String,
    headers: reqwest::header::HeaderMap,
    text: String,
    json: Value,
}

impl Reply {
    fn detail(&self) -> &str {
        self.json["detail"].as_str().unwrap_or("")
    }
    /// Fields named in the `errors` of a problem document.
    fn error_fields(&self) -> Vec<&str> {
        self.json["errors"]
            .as_array()
            .map(|a| a.iter().filter_map(|e| e["field"].as_str()).collect())
            .unwrap_or_default()
    }
}

/// Fills `{name}` segments of a path template with `args`, in order.
fn fill(template: &str, args: &[i64]) -> String {
    let mut out = String::new();
    let mut args = args.iter();
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        let end = rest.find('}').unwrap();
        out.push_str(&rest[..start]);
        out.push_str(&args.next().expect("an argument for every path parameter").to_string());
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    assert!(args.next().is_none(), "too many arguments for {template}");
    out
}

/// Validates `value` against a schema of the document, with the document's components in scope
/// so that `$ref`s resolve.
fn validate(doc: &Value, schema: &Value, value: &Value, what: &str) {
    let mut root = schema.clone();
    root.as_object_mut().expect("a schema object").insert("components".into(), doc["components"].clone());
    let validator = jsonschema::draft202012::new(&root)
        .unwrap_or_else(|e| panic!("{what}: the document's schema does not compile: {e}"));
    let problems: Vec<String> =
        validator.iter_errors(value).map(|e| format!("{} at «{}»", e, e.instance_path())).collect();
    assert!(problems.is_empty(), "{what} does not match the OpenAPI document:\n{}\n{value:#}", problems.join("\n"));
}

/// Whether `value` matches the document's component schema `name`.
fn conforms(doc: &Value, name: &str, value: &Value) -> bool {
    let mut root = json!({"$ref": format!("#/components/schemas/{name}")});
    root["components"] = doc["components"].clone();
    jsonschema::draft202012::new(&root).unwrap_or_else(|e| panic!("{name} does not compile: {e}")).is_valid(value)
}

/// `#/components/responses/X` → the response object.
fn resolve<'a>(doc: &'a Value, v: &'a Value) -> &'a Value {
    match v["$ref"].as_str() {
        Some(r) => doc.pointer(r.trim_start_matches('#')).unwrap_or_else(|| panic!("dangling reference {r}")),
        None => v,
    }
}

impl Api {
    async fn new(h: &Harness) -> Api {
        let http = reqwest::Client::new();
        let base = h.app.url();
        let r = http.get(format!("{base}/api/openapi.json")).send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert!(r.headers()["content-type"].to_str().unwrap().starts_with("application/json"));
        let doc: Value = r.json().await.unwrap();
        Api { base, http, doc, token: None }
    }

    async fn signed_in(h: &Harness, login: &str, password: &str) -> Api {
        let mut api = Api::new(h).await;
        let r = api
            .call(Method::POST, "/api/v1/auth/token", &[], Some(json!({"login": login, "password": password})))
            .await;
        assert_eq!(r.status, 200, "{r:?}");
        api.token = Some(r.json["token"].as_str().unwrap().to_owned());
        api
    }

    fn operation(&self, method: &Method, template: &str) -> &Value {
        let op = &self.doc["paths"][template][method.as_str().to_lowercase()];
        assert!(op.is_object(), "{method} {template} is not in the OpenAPI document");
        op
    }

    /// Calls a documented operation with a JSON body that must itself match the document.
    async fn call(&self, method: Method, template: &str, args: &[i64], body: Option<Value>) -> Reply {
        self.call_with(method, template, args, "", body.map(|b| (b, true))).await
    }

    /// Calls a documented operation; `body.1` says whether the body must match the document
    /// (false for the deliberately wrong inputs).
    async fn call_with(
        &self,
        method: Method,
        template: &str,
        args: &[i64],
        query: &str,
        body: Option<(Value, bool)>,
    ) -> Reply {
        let op = self.operation(&method, template).clone();
        let mut req = self.http.request(method.clone(), format!("{}{}{query}", self.base, fill(template, args)));
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        if let Some((b, conforming)) = body {
            if conforming {
                let schema = &op["requestBody"]["content"]["application/json"]["schema"];
                assert!(schema.is_object(), "{method} {template} documents no JSON request body");
                validate(&self.doc, schema, &b, &format!("request of {method} {template}"));
            }
            req = req.json(&b);
        }
        let r = req.send().await.unwrap();
        self.check(&op, &method, template, r).await
    }

    /// Sends a raw body, e.g. malformed JSON.
    async fn call_raw(&self, method: Method, template: &str, args: &[i64], raw: &str) -> Reply {
        let op = self.operation(&method, template).clone();
        let mut req = self.http.request(method.clone(), format!("{}{}", self.base, fill(template, args)));
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        let r = req.header("content-type", "application/json").body(raw.to_owned()).send().await.unwrap();
        self.check(&op, &method, template, r).await
    }

    /// The status must be documented for the operation, and the body must match its schema.
    async fn check(&self, op: &Value, method: &Method, template: &str, r: reqwest::Response) -> Reply {
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let content_type = headers.get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
        let text = r.text().await.unwrap();
        let documented = op["responses"].get(status.to_string()).unwrap_or_else(|| {
            panic!("{method} {template} answered {status}, which the document does not list:\n{text}")
        });
        let response = resolve(&self.doc, documented);
        for (name, header) in response["headers"].as_object().into_iter().flatten() {
            if resolve(&self.doc, header)["required"] == true {
                assert!(
                    headers.contains_key(name.to_lowercase().as_str()),
                    "{method} {template} → {status} without the documented {name}"
                );
            }
        }
        if response.get("content").is_none() {
            assert!(text.is_empty(), "{method} {template} → {status} documents no body but sent:\n{text}");
            return Reply { status, content_type, headers, text, json: Value::Null };
        }
        let media = content_type.split(';').next().unwrap().trim().to_owned();
        let schema = &response["content"][&media]["schema"];
        assert!(
            schema.is_object(),
            "{method} {template} → {status} as {media}, which the document does not list:\n{text}"
        );
        let json = if media.ends_with("json") {
            let v: Value =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{method} {template}: not JSON ({e}): {text}"));
            validate(&self.doc, schema, &v, &format!("{method} {template} → {status}"));
            v
        } else {
            Value::Null
        };
        if status >= 400 {
            assert_eq!(media, "application/problem+json", "{method} {template} → {status}");
            let detail = json["detail"].as_str().unwrap_or("");
            assert!(
                detail.chars().any(|c| ('а'..='я').contains(&c.to_lowercase().next().unwrap())),
                "detail in Russian: {detail}"
            );
        }
        Reply { status, content_type, headers, text, json }
    }
}

const PLAN: &str = "/api/v1/plans/{id}";
const POSITIONS: &str = "/api/v1/plans/{id}/positions";
const POSITION: &str = "/api/v1/plans/{id}/positions/{position_id}";

fn ordinary(row_version: i64) -> Value {
    json!({
        "object_info": "Поставка учебников для 5-х классов",
        "publish_year": "2026",
        "okpd2": "58.11.19.000",
        "kvr": "244",
        "amount_current": "1 250 000,50",
        "row_version": row_version,
    })
}

/// A new position: its fields only, adding names no version.
fn new_position() -> Value {
    let mut p = ordinary(0);
    p.as_object_mut().unwrap().remove("row_version");
    p
}

/// The row version of a position in a plan's detail.
fn version_of(detail: &Value, position: i64) -> i64 {
    let p = detail["positions"].as_array().unwrap().iter().find(|p| p["id"] == position).expect("the position");
    p["row_version"].as_i64().unwrap()
}

fn money(v: &Value) -> rust_decimal::Decimal {
    v.as_str().unwrap_or_else(|| panic!("money as a string: {v}")).parse().unwrap()
}

#[tokio::test]
async fn the_document_and_the_router_list_the_same_endpoints() {
    let h = Harness::start().await;
    let api = Api::new(&h).await;
    let documented: BTreeSet<(String, String)> = api.doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| item.as_object().unwrap().keys().map(move |m| (m.to_uppercase(), path.clone())))
        .collect();
    let routed: BTreeSet<(String, String)> =
        web::api::endpoints().into_iter().map(|(m, p)| (m.to_string(), p.to_owned())).collect();
    assert_eq!(routed, documented, "the route table and the OpenAPI document differ");
    for want in [
        "GET /api/v1/plans",
        "POST /api/v1/plans",
        "GET /api/v1/plans/{id}",
        "POST /api/v1/plans/{id}/positions",
        "PUT /api/v1/plans/{id}/positions/{position_id}",
        "DELETE /api/v1/plans/{id}/positions/{position_id}",
        "POST /api/v1/plans/{id}/positions/{position_id}/cancel",
        "POST /api/v1/plans/{id}/submit",
        "POST /api/v1/plans/{id}/approve",
        "POST /api/v1/plans/{id}/return",
        "POST /api/v1/plans/{id}/changes",
        "GET /api/v1/plans/{id}/versions",
        "GET /api/v1/versions/{id}",
        "GET /api/v1/versions/{id}/diff",
        "GET /api/v1/versions/{id}/packet.xml",
        "GET /api/v1/plans/{id}/journal",
    ] {
        let (m, p) = want.split_once(' ').unwrap();
        assert!(documented.contains(&(m.to_owned(), p.to_owned())), "{want} is not documented");
    }
    // Every documented operation is live in the server, and every one but the public ones
    // refuses a call without a token (documented as 401).
    for (method, path) in &documented {
        let op = api.operation(&Method::from_bytes(method.as_bytes()).unwrap(), path);
        let public = op["security"].as_array().is_some_and(|s| s.is_empty());
        let args = vec![1; path.matches('{').count()];
        let r = api.call_with(Method::from_bytes(method.as_bytes()).unwrap(), path, &args, "", None).await;
        if public {
            assert_ne!(r.status, 404, "{method} {path}");
        } else {
            assert_eq!(r.status, 401, "{method} {path} without a token: {}", r.text);
            assert_eq!(r.headers["www-authenticate"], "Bearer");
        }
    }
    // Unknown API addresses answer with a problem document, not a page.
    let r = api.http.get(format!("{}/api/v1/nothing-here", api.base)).send().await.unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    // So do methods an address does not take.
    let r = api.http.patch(format!("{}/api/v1/plans", api.base)).send().await.unwrap();
    assert_eq!(r.status(), 405);
    assert_eq!(r.headers()["allow"], "GET, POST");
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    h.app.stop().await;
}

#[tokio::test]
async fn full_flow_through_the_api() {
    let h = Harness::start().await;
    let customer = Api::signed_in(&h, "zakazchik", "zakazchik").await;
    let approver = Api::signed_in(&h, "soglasovatel", "soglasovatel").await;

    let me = customer.call(Method::GET, "/api/v1/me", &[], None).await;
    assert_eq!(me.json["roles"], json!(["customer"]));
    assert_eq!(me.json["roles_title"], "Специалист заказчика");

    // A plan for 2026; the year is checked, and a second plan for the same year is a conflict.
    let r = customer.call_with(Method::POST, "/api/v1/plans", &[], "", Some((json!({"plan_year": 26}), false))).await;
    assert_eq!(r.status, 422);
    assert_eq!(r.error_fields(), ["plan_year"]);
    let r = customer.call(Method::POST, "/api/v1/plans", &[], Some(json!({"plan_year": 2026}))).await;
    assert_eq!(r.status, 201, "{r:?}");
    let plan = r.json["id"].as_i64().unwrap();
    assert_eq!(r.headers["location"], format!("/api/v1/plans/{plan}"));
    assert_eq!(r.json["status"], "forming");
    assert_eq!(r.json["permissions"]["edit"], true);
    assert_eq!(r.json["permissions"]["approve"], false);
    let r = customer.call(Method::POST, "/api/v1/plans", &[], Some(json!({"plan_year": 2026}))).await;
    assert_eq!(r.status, 409);
    assert!(r.detail().contains("уже существует"));
    let mut rv = customer.call(Method::GET, PLAN, &[plan], None).await.json["row_version"].as_i64().unwrap();

    // An ordinary position: the ИКЗ is computed, the money is exact.
    let r = customer.call(Method::POST, POSITIONS, &[plan], Some(new_position())).await;
    assert_eq!(r.status, 201, "{r:?}");
    // The answer carries the new position's own version, which its changes name.
    assert_eq!(r.json["row_version"], 1);
    assert_eq!(r.json["position"]["row_version"], 1);
    let p1 = r.json["position"]["id"].as_i64().unwrap();
    assert_eq!(r.json["position"]["ikz"], "262780100001178010100100010005811244");
    assert_eq!(money(&r.json["position"]["amounts"]["current"]), "1250000.50".parse().unwrap());
    assert_eq!(r.json["position"]["mark"], "new");
    assert_eq!(r.headers["location"], format!("/api/v1/plans/{plan}/positions/{p1}"));

    // Several ОКПД2 codes: «не определен» (0000) in the ИКЗ.
    let several = json!({
        "object_info": "Канцелярские товары и услуги по уборке",
        "publish_year": "2026",
        "okpd2": "38.11.21.000, 81.29.12",
        "kvr": "244",
        "amount_current": "300000",
        "amount_first": "200000",
    });
    let r = customer.call(Method::POST, POSITIONS, &[plan], Some(several)).await;
    assert_eq!(r.status, 201, "{r:?}");
    let p2 = r.json["position"]["id"].as_i64().unwrap();
    assert_eq!(r.json["position"]["okpd2"].as_array().unwrap().len(), 2);
    assert_eq!(&r.json["position"]["ikz"].as_str().unwrap()[29..33], "0000");

    // A breakdown by КВР (the school is a budget institution, type 03).
    let breakdown = json!({
        "object_info": "Ремонт спортивного зала",
        "publish_year": "2026",
        "okpd2": "43.39.19.190",
        "amount_current": "100 000",
        "lines": [{"code": "244", "current": "60 000"}, {"code": "247", "current": "40 000,00"}],
    });
    let r = customer.call(Method::POST, POSITIONS, &[plan], Some(breakdown)).await;
    assert_eq!(r.status, 201, "{r:?}");
    let p3 = r.json["position"]["id"].as_i64().unwrap();
    assert_eq!(r.json["position"]["kvr"], Value::Null);
    let kvrs: Vec<&str> =
        r.json["position"]["kvrs"].as_array().unwrap().iter().map(|l| l["code"].as_str().unwrap()).collect();
    assert_eq!(kvrs, ["244", "247"]);

    let detail = customer.call(Method::GET, PLAN, &[plan], None).await.json;
    assert_eq!(detail["row_version"], rv, "adding positions leaves the plan's own version alone");
    assert_eq!(detail["positions"].as_array().unwrap().len(), 3);
    assert_eq!(detail["findings"], json!([]), "a clean plan");
    assert_eq!(money(&detail["totals"]["current"]), "1650000.50".parse().unwrap());
    assert_eq!(money(&detail["totals"]["first"]), "200000".parse().unwrap());

    // Bad input: every wrong field at once, 422, and nothing stored.
    let bad = json!({"object_info": "Учебники", "publish_year": "26", "okpd2": "58", "kvr": "244", "amount_current": "сто", "row_version": rv});
    let r = customer.call_with(Method::POST, POSITIONS, &[plan], "", Some((bad, false))).await;
    assert_eq!(r.status, 422);
    assert_eq!(r.error_fields(), ["publish_year", "okpd2", "amount_current"]);
    assert!(r.json["errors"][2]["message"].as_str().unwrap().contains("«сто» не является суммой"));
    let r = customer.call_raw(Method::POST, POSITIONS, &[plan], "{\"object_info\": ").await;
    assert_eq!(r.status, 400);
    assert!(r.detail().contains("не является корректным JSON"));
    let r = customer.call_with(Method::POST, POSITIONS, &[plan], "", Some((json!({"okpd2": 58}), false))).await;
    assert_eq!(r.status, 400, "a number where the document says string");
    let r =
        customer.call_with(Method::PUT, POSITION, &[plan, p1], "", Some((json!({"object_info": "x"}), false))).await;
    assert_eq!(r.status, 422);
    assert_eq!(r.error_fields(), ["row_version"]);
    // A stale row version of the position: 409, nothing stored.
    let r = customer.call(Method::PUT, POSITION, &[plan, p1], Some(ordinary(0))).await;
    assert_eq!(r.status, 409);
    assert!(r.detail().contains("Позицию изменил") && r.detail().contains("row_version"), "{}", r.detail());
    let after = customer.call(Method::GET, PLAN, &[plan], None).await.json;
    assert_eq!(after["row_version"], rv, "nothing changed");
    assert_eq!(after["positions"], detail["positions"]);

    // Submit; the working copy is locked meanwhile.
    let r = customer.call(Method::POST, "/api/v1/plans/{id}/submit", &[plan], None).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.json["status"], "on_approval");
    assert_eq!(r.json["permissions"]["edit"], false);
    let r = customer.call(Method::POST, POSITIONS, &[plan], Some(new_position())).await;
    assert_eq!(r.status, 409, "wrong state");
    assert!(r.detail().contains("«На согласовании»"), "{}", r.detail());

    // The approver returns it, with a comment; without one the return is refused.
    let r = approver
        .call_with(Method::POST, "/api/v1/plans/{id}/return", &[plan], "", Some((json!({"comment": "  "}), false)))
        .await;
    assert_eq!(r.status, 422);
    assert_eq!(r.error_fields(), ["comment"]);
    let r = approver
        .call(Method::POST, "/api/v1/plans/{id}/return", &[plan], Some(json!({"comment": "Уточните сумму учебников"})))
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.json["status"], "revision");
    let detail = customer.call(Method::GET, PLAN, &[plan], None).await.json;
    assert_eq!(detail["return_comment"], "Уточните сумму учебников");

    // The customer fixes the position (not approved yet: no justification needed) and submits.
    let mut fixed = ordinary(version_of(&detail, p1));
    fixed["amount_current"] = json!("1 200 000");
    let r = customer.call(Method::PUT, POSITION, &[plan, p1], Some(fixed)).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(money(&r.json["position"]["amounts"]["current"]), "1200000".parse().unwrap());
    let r = customer.call(Method::POST, "/api/v1/plans/{id}/submit", &[plan], None).await;
    assert_eq!(r.status, 200);

    // Approval creates version 0.
    let r = approver.call(Method::POST, "/api/v1/plans/{id}/approve", &[plan], None).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.json["plan"]["status"], "approved");
    assert_eq!(r.json["version"]["version_number"], 0);
    assert_eq!(r.json["version"]["send_status"], Value::Null);
    let v0 = r.json["version"]["id"].as_i64().unwrap();
    let versions = customer.call(Method::GET, "/api/v1/plans/{id}/versions", &[plan], None).await;
    assert_eq!(versions.json.as_array().unwrap().len(), 1);
    let version = customer.call(Method::GET, "/api/v1/versions/{id}", &[v0], None).await;
    assert_eq!(version.json["positions"].as_array().unwrap().len(), 3);
    assert_eq!(version.json["customer"]["org_type"], "03");
    assert_eq!(version.json["positions"][0]["ikz"], "262780100001178010100100010005811244");

    // «Внести изменения», then edit an approved position: the justification is required.
    let r = approver.call(Method::POST, "/api/v1/plans/{id}/changes", &[plan], None).await;
    assert_eq!(r.status, 403, "only the customer starts changes");
    let r = customer.call(Method::POST, "/api/v1/plans/{id}/changes", &[plan], None).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.json["status"], "forming");
    let plan_rv = r.json["row_version"].as_i64().unwrap();
    let mut edit = ordinary(version_of(&r.json, p1));
    edit["amount_current"] = json!("1 000 000");
    let r = customer.call(Method::PUT, POSITION, &[plan, p1], Some(edit.clone())).await;
    assert_eq!(r.status, 422);
    assert_eq!(r.error_fields(), ["reason_code", "change_description"]);
    edit["reason_code"] = json!("9");
    edit["change_description"] = json!("Экономия по результатам мониторинга цен");
    let r = customer.call(Method::PUT, POSITION, &[plan, p1], Some(edit.clone())).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.json["position"]["mark"], "edited");
    assert_eq!(r.json["position"]["change"]["decision"], "Changed");
    rv = r.json["row_version"].as_i64().unwrap();
    assert_eq!(r.json["position"]["row_version"], rv);
    // The same edit again with the row version it was read at: stale.
    edit["row_version"] = json!(rv - 1);
    let r = customer.call(Method::PUT, POSITION, &[plan, p1], Some(edit)).await;
    assert_eq!(r.status, 409);

    // An approved position is cancelled, never deleted; a new one can be deleted.
    let detail = customer.call(Method::GET, PLAN, &[plan], None).await.json;
    let r = customer
        .call_with(Method::DELETE, POSITION, &[plan, p3], &format!("?row_version={}", version_of(&detail, p3)), None)
        .await;
    assert_eq!(r.status, 409);
    assert!(r.detail().contains("нельзя удалить"));
    // Another position's edit (p1 above) did not make p2's version stale.
    let r = customer
        .call(
            Method::POST,
            "/api/v1/plans/{id}/positions/{position_id}/cancel",
            &[plan, p2],
            Some(json!({"row_version": version_of(&detail, p2), "reason_code": "9", "change_description": "Потребность отпала"})),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.json["position"]["change"]["decision"], "Canceled");
    let r = customer.call(Method::POST, POSITIONS, &[plan], Some(new_position())).await;
    assert_eq!(r.status, 201);
    let p4 = r.json["position"]["id"].as_i64().unwrap();
    rv = r.json["row_version"].as_i64().unwrap();
    let r = customer.call_with(Method::DELETE, POSITION, &[plan, p4], "", None).await;
    assert_eq!(r.status, 422, "row_version is required");
    let r = customer.call_with(Method::DELETE, POSITION, &[plan, p4], &format!("?row_version={}", rv + 1), None).await;
    assert_eq!(r.status, 409, "a version the position does not have");
    let r = customer.call_with(Method::DELETE, POSITION, &[plan, p4], &format!("?row_version={rv}"), None).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.json["row_version"], plan_rv, "the plan's own version, unchanged by position changes");

    // Version 1.
    assert_eq!(customer.call(Method::POST, "/api/v1/plans/{id}/submit", &[plan], None).await.status, 200);
    let r = approver.call(Method::POST, "/api/v1/plans/{id}/approve", &[plan], None).await;
    assert_eq!(r.status, 200, "{r:?}");
    let v1 = r.json["version"]["id"].as_i64().unwrap();
    assert_eq!(r.json["version"]["version_number"], 1);

    // The diff from version 0 to version 1, field by field, with money deltas.
    let d = customer.call_with(Method::GET, "/api/v1/versions/{id}/diff", &[v1], &format!("?with={v0}"), None).await;
    assert_eq!(d.status, 200, "{d:?}");
    assert_eq!(d.json["with"]["version_number"], 0);
    let entries = d.json["positions"].as_array().unwrap();
    let kinds: Vec<(&str, &str)> =
        entries.iter().map(|e| (e["purchase_number"].as_str().unwrap(), e["kind"].as_str().unwrap())).collect();
    assert_eq!(kinds, [("0001", "changed"), ("0002", "changed")]);
    let sum = entries[0]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["field"] == "Сумма, текущий год")
        .expect("amount change");
    assert_eq!(money(&sum["delta"]), "-200000".parse().unwrap());
    assert_eq!(money(&entries[0]["total_delta"]), "-200000".parse().unwrap());
    assert!(entries[1]["changes"].as_array().unwrap().iter().any(|c| c["field"] == "Отменена" && c["after"] == "да"));
    assert_eq!(money(&entries[1]["total_delta"]), "-500000".parse().unwrap(), "a cancelled position leaves the totals");
    let deltas: rust_decimal::Decimal = entries.iter().map(|e| money(&e["total_delta"])).sum();
    let t = &d.json["totals_delta"];
    let totals: rust_decimal::Decimal =
        ["current", "first", "second", "subsequent"].iter().map(|k| money(&t[*k])).sum();
    assert_eq!(deltas, totals, "position deltas add up to the change of the plan's total");
    assert_eq!(
        money(&d.json["totals_before"]["current"]) + money(&t["current"]),
        money(&d.json["totals_after"]["current"])
    );
    // Without `with`, the previous version; version 0 has none.
    let again = customer.call(Method::GET, "/api/v1/versions/{id}/diff", &[v1], None).await;
    assert_eq!(again.json, d.json);
    let r = customer.call(Method::GET, "/api/v1/versions/{id}/diff", &[v0], None).await;
    assert_eq!(r.status, 400);
    let r = customer.call_with(Method::GET, "/api/v1/versions/{id}/diff", &[v1], "?with=first", None).await;
    assert_eq!(r.status, 400);

    // The packet XML of each version, valid against the official schemas when they are here.
    for v in [v0, v1] {
        let r = customer.call(Method::GET, "/api/v1/versions/{id}/packet.xml", &[v], None).await;
        assert_eq!(r.status, 200);
        assert!(r.content_type.starts_with("application/xml"), "{}", r.content_type);
        assert_eq!(r.headers["x-packet-kind"], "preview");
        assert!(r.text.contains("tenderPlan2020") && r.text.contains("http://zakupki.gov.ru/oos/integration/1"));
        assert!(r.text.contains("262780100001178010100100010005811244"));
        match official_schemas() {
            Some(set) => {
                if let Err(issues) = set.validate(&r.text) {
                    panic!("packet of version {v} is not valid: {}", eis::validate::join_lines(&issues));
                }
            }
            None => eprintln!(
                "SKIPPED: schema validation of the API's packet XML (no ЕИС schemas; set PLANGRAF_EIS_SCHEMAS)"
            ),
        }
    }

    // The journal tells the story.
    let journal = customer.call(Method::GET, "/api/v1/plans/{id}/journal", &[plan], None).await;
    let actions: Vec<&str> = journal.json.as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    for want in [
        "Создан план-график",
        "Добавлена позиция 0001",
        "Отправлен на согласование",
        "Возвращен на доработку",
        "Изменена позиция 0001",
        "Утвержден",
        "Начаты изменения",
        "Отменена позиция 0002",
        "Удалена позиция 0004",
    ] {
        assert!(actions.contains(&want), "{want} in {actions:?}");
    }
    let returned = journal.json.as_array().unwrap().iter().find(|e| e["action"] == "Возвращен на доработку").unwrap();
    assert_eq!(returned["user_name"], "Смирнов Олег Викторович");
    assert!(returned["details"].as_str().unwrap().contains("Уточните сумму учебников"));
    h.app.stop().await;
}

#[tokio::test]
async fn rules_of_access_and_state() {
    let h = Harness::start().await;
    let customer = Api::signed_in(&h, "zakazchik", "zakazchik").await;
    let approver = Api::signed_in(&h, "soglasovatel", "soglasovatel").await;

    // A session cookie does not authenticate the API, even for a signed-in browser.
    let mut browser = h.client();
    browser.login("zakazchik", "zakazchik").await;
    for (method, path) in [(Method::GET, "/api/v1/plans"), (Method::POST, "/api/v1/plans")] {
        let r = browser
            .http
            .request(method, format!("{}{path}", browser.base))
            .json(&json!({"plan_year": 2026}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{path} with a session cookie");
    }
    let r = customer.call(Method::GET, "/api/v1/plans", &[], None).await;
    assert_eq!(r.json, json!({"items": [], "next_cursor": null, "count": 0}), "nothing was created");

    // Only a customer specialist creates plans.
    let r = approver.call(Method::POST, "/api/v1/plans", &[], Some(json!({"plan_year": 2026}))).await;
    assert_eq!(r.status, 403);

    // An empty plan cannot be submitted: the findings come with the refusal.
    let plan = customer.call(Method::POST, "/api/v1/plans", &[], Some(json!({"plan_year": 2026}))).await.json["id"]
        .as_i64()
        .unwrap();
    let r = customer.call(Method::POST, "/api/v1/plans/{id}/submit", &[plan], None).await;
    assert_eq!(r.status, 422);
    assert_eq!(r.error_fields(), ["positions"]);
    assert!(r.json["errors"][0]["message"].as_str().unwrap().contains("не содержит ни одной позиции"));
    let r = customer.call(Method::POST, POSITIONS, &[plan], Some(new_position())).await;
    let position = r.json["position"]["id"].as_i64().unwrap();
    // A special purchase: its kind is looked up in НСИ, as on the pages.
    let special = json!({"special_type": "P4_1_93", "publish_year": "2026", "kvr": "244", "amount_current": "50 000"});
    let mut unknown = special.clone();
    unknown["special_type"] = json!("P9_9_99");
    let r = customer.call(Method::POST, POSITIONS, &[plan], Some(unknown)).await;
    assert_eq!(r.status, 422);
    assert_eq!(r.error_fields(), ["special_type"]);
    let r = customer.call(Method::POST, POSITIONS, &[plan], Some(special)).await;
    assert_eq!(r.status, 201, "{r:?}");
    assert_eq!(r.json["position"]["special"]["code"], "P4_1_93");
    assert_eq!(r.json["position"]["okpd2"], json!([]));

    // Wrong state: nothing to approve yet, no changes to start.
    let r = approver.call(Method::POST, "/api/v1/plans/{id}/approve", &[plan], None).await;
    assert_eq!(r.status, 409, "{r:?}");
    let r = customer.call(Method::POST, "/api/v1/plans/{id}/changes", &[plan], None).await;
    assert_eq!(r.status, 409);
    // Wrong role: the approver reads the subordinate's plan but may not edit or submit it.
    let r = approver.call(Method::GET, PLAN, &[plan], None).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json["permissions"]["edit"], false);
    let r = approver.call(Method::POST, POSITIONS, &[plan], Some(new_position())).await;
    assert_eq!(r.status, 403);
    let r = approver.call(Method::POST, "/api/v1/plans/{id}/submit", &[plan], None).await;
    assert_eq!(r.status, 403);
    assert_eq!(
        customer.call(Method::GET, "/api/v1/plans", &[], None).await.json["items"][0]["awaits_my_decision"],
        false
    );
    assert_eq!(customer.call(Method::POST, "/api/v1/plans/{id}/submit", &[plan], None).await.status, 200);
    // The customer may not decide on its own plan.
    let r = customer.call(Method::POST, "/api/v1/plans/{id}/approve", &[plan], None).await;
    assert_eq!(r.status, 403);
    let r =
        customer.call(Method::POST, "/api/v1/plans/{id}/return", &[plan], Some(json!({"comment": "сам себе"}))).await;
    assert_eq!(r.status, 403);
    let list = approver.call(Method::GET, "/api/v1/plans", &[], None).await;
    assert_eq!(list.json["items"][0]["awaits_my_decision"], true);
    assert_eq!(list.json["items"][0]["organization"]["short_name"], plangraf::demo::SCHOOL.short_name);

    // Another organization (a sibling under the same superior) sees nothing: 404 everywhere.
    create_other_specialist(&h).await;
    let other = Api::signed_in(&h, "district", "district1").await;
    assert_eq!(other.call(Method::GET, "/api/v1/plans", &[], None).await.json["count"], 0);
    let r = approver.call(Method::POST, "/api/v1/plans/{id}/approve", &[plan], None).await;
    assert_eq!(r.status, 200);
    let version = r.json["version"]["id"].as_i64().unwrap();
    let cancel = json!({"row_version": 1, "reason_code": "9", "change_description": "x"});
    let calls: [(Method, &str, Vec<i64>, Option<Value>); 16] = [
        (Method::GET, PLAN, vec![plan], None),
        (Method::GET, "/api/v1/plans/{id}/versions", vec![plan], None),
        (Method::GET, "/api/v1/plans/{id}/journal", vec![plan], None),
        (Method::PUT, "/api/v1/plans/{id}/owner-role", vec![plan], Some(json!({"row_version": 1, "owner_role": "OA"}))),
        (
            Method::PUT,
            "/api/v1/plans/{id}/responsible",
            vec![plan],
            Some(json!({"row_version": 1, "last_name": "x", "first_name": "x", "position": "x"})),
        ),
        (Method::POST, POSITIONS, vec![plan], Some(ordinary(1))),
        (Method::PUT, POSITION, vec![plan, position], Some(ordinary(1))),
        (Method::DELETE, POSITION, vec![plan, position], None),
        (Method::POST, "/api/v1/plans/{id}/positions/{position_id}/cancel", vec![plan, position], Some(cancel)),
        (Method::POST, "/api/v1/plans/{id}/submit", vec![plan], None),
        (Method::POST, "/api/v1/plans/{id}/approve", vec![plan], None),
        (Method::POST, "/api/v1/plans/{id}/return", vec![plan], Some(json!({"comment": "x"}))),
        (Method::POST, "/api/v1/plans/{id}/changes", vec![plan], None),
        (Method::GET, "/api/v1/versions/{id}", vec![version], None),
        (Method::GET, "/api/v1/versions/{id}/diff", vec![version], None),
        (Method::GET, "/api/v1/versions/{id}/packet.xml", vec![version], None),
    ];
    for (method, path, args, body) in calls {
        let r = other.call_with(method.clone(), path, &args, "?row_version=1", body.map(|b| (b, false))).await;
        assert_eq!(r.status, 404, "{method} {path} by another organization: {}", r.text);
    }
    let r = customer.call(Method::GET, PLAN, &[plan], None).await;
    assert_eq!(r.json["status"], "approved", "nothing changed");

    // Self-approval: a plan of the superior organization itself cannot be approved by it.
    let committee = h.app.store.organization_by_spz(plangraf::demo::COMMITTEE.spz_code).await.unwrap().unwrap();
    let hash = app::users::hash("committee1".into()).await.unwrap();
    h.app
        .store
        .create_user("committee", &hash, "Кузнецова К. К.", committee.id, domain::Role::CustomerSpecialist)
        .await
        .unwrap();
    let own = Api::signed_in(&h, "committee", "committee1").await;
    let r = own.call(Method::POST, "/api/v1/plans", &[], Some(json!({"plan_year": 2026}))).await;
    let own_plan = r.json["id"].as_i64().unwrap();
    let mut p = new_position();
    p["kvr"] = json!("244");
    p["lines"] = json!([{"code": "07507021234567890244", "current": "1 250 000,50"}]);
    let r = own.call(Method::POST, POSITIONS, &[own_plan], Some(p)).await;
    assert_eq!(r.status, 201, "{r:?}");
    let r = own.call(Method::POST, "/api/v1/plans/{id}/submit", &[own_plan], None).await;
    assert_eq!(r.status, 200, "{r:?}");
    let r = approver.call(Method::POST, "/api/v1/plans/{id}/approve", &[own_plan], None).await;
    assert_eq!(r.status, 403);
    assert!(r.detail().contains("собственной организации"), "{}", r.detail());
    assert_eq!(own.call(Method::GET, PLAN, &[own_plan], None).await.json["status"], "on_approval");

    // A forged or missing token, and a path that names nothing.
    let mut forged = Api::new(&h).await;
    forged.token = Some("forged".into());
    assert_eq!(forged.call(Method::GET, "/api/v1/plans", &[], None).await.status, 401);
    let r = customer
        .http
        .get(format!("{}/api/v1/plans/abc", customer.base))
        .bearer_auth(customer.token.as_ref().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    h.app.stop().await;
}

/// The plan's header through the API: who places it in ЕИС (CU or OA, and then the agent's ИКУ
/// goes into every ИКЗ) and the responsible person; bad input, stale versions and other
/// organizations are refused and change nothing.
#[tokio::test]
async fn plan_header_through_the_api() {
    let h = Harness::start().await;
    let customer = Api::signed_in(&h, "zakazchik", "zakazchik").await;
    let approver = Api::signed_in(&h, "soglasovatel", "soglasovatel").await;
    let r = customer.call(Method::POST, "/api/v1/plans", &[], Some(json!({"plan_year": 2027}))).await;
    let plan = r.json["id"].as_i64().unwrap();
    assert_eq!(r.json["owner_role"], "CU");
    assert_eq!(r.json["agent"], Value::Null);
    assert_eq!(r.json["responsible"], Value::Null);
    let rv = r.json["row_version"].as_i64().unwrap();
    const OWNER: &str = "/api/v1/plans/{id}/owner-role";
    const RESPONSIBLE: &str = "/api/v1/plans/{id}/responsible";

    let r = customer
        .call_with(Method::PUT, OWNER, &[plan], "", Some((json!({"row_version": rv, "owner_role": "XX"}), false)))
        .await;
    assert_eq!(r.status, 422);
    assert_eq!(r.error_fields(), ["owner_role"]);
    let r = customer.call(Method::PUT, OWNER, &[plan], Some(json!({"row_version": rv - 1, "owner_role": "OA"}))).await;
    assert_eq!(r.status, 409, "a stale row_version");
    let r = approver.call(Method::PUT, OWNER, &[plan], Some(json!({"row_version": rv, "owner_role": "OA"}))).await;
    assert_eq!(r.status, 403, "the superior reads the plan but does not edit it");
    let r = customer.call(Method::PUT, OWNER, &[plan], Some(json!({"row_version": rv, "owner_role": "OA"}))).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.json["owner_role"], "OA");
    assert_eq!(r.json["agent"]["spz_code"], plangraf::demo::COMMITTEE.spz_code);
    let rv = r.json["row_version"].as_i64().unwrap();

    // For role OA the ИКЗ carries the committee's ИКУ: 2 + its ИНН + КПП.
    let mut position = new_position();
    position["publish_year"] = json!("2027");
    let r = customer.call(Method::POST, POSITIONS, &[plan], Some(position)).await;
    assert_eq!(r.status, 201, "{r:?}");
    assert_eq!(r.json["position"]["ikz"], "272783000042678400100100010005811244");

    let person =
        json!({"row_version": rv, "last_name": "Петрова", "first_name": "Анна", "position": " ", "phone": "звонить"});
    let r = customer.call_with(Method::PUT, RESPONSIBLE, &[plan], "", Some((person, false))).await;
    assert_eq!(r.status, 422);
    assert_eq!(r.error_fields(), ["responsible_position", "responsible_phone"]);
    let person =
        json!({"row_version": rv, "last_name": "Петрова", "first_name": "Анна", "position": "контрактный управляющий"});
    let r = customer.call(Method::PUT, RESPONSIBLE, &[plan], Some(person)).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.json["responsible"]["position"], "контрактный управляющий");
    assert_eq!(r.json["responsible"]["middle_name"], "");
    let journal = customer.call(Method::GET, "/api/v1/plans/{id}/journal", &[plan], None).await;
    assert!(
        journal.text.contains("Изменён ответственный исполнитель")
            && journal.text.contains("Изменено: кто размещает в ЕИС"),
        "{}",
        journal.text
    );

    // The approved version shows the ИКЗ as it is sent: with the committee's ИКУ.
    let r = customer.call(Method::POST, "/api/v1/plans/{id}/submit", &[plan], None).await;
    assert_eq!(r.status, 200, "{r:?}");
    let r = approver.call(Method::POST, "/api/v1/plans/{id}/approve", &[plan], None).await;
    assert_eq!(r.status, 200, "{r:?}");
    let version = r.json["version"]["id"].as_i64().unwrap();
    let r = customer.call(Method::GET, "/api/v1/versions/{id}", &[version], None).await;
    assert_eq!(r.json["positions"][0]["ikz"], "272783000042678400100100010005811244", "{r:?}");
    h.app.stop().await;
}

/// The document states the rules the server enforces, so a client built from it does not send
/// what will be refused: ranges, row versions as int64, money and code formats, lengths, and no
/// control characters in text (tab and line breaks only in multi-line fields).
#[test]
fn the_document_states_the_input_rules() {
    let doc: Value = serde_json::from_str(web::api::OPENAPI).unwrap();
    let plan = |year: Value| json!({"plan_year": year});
    for (year, ok) in
        [(json!(2020), true), (json!(2099), true), (json!(0), false), (json!(2019), false), (json!(2100), false)]
    {
        assert_eq!(conforms(&doc, "CreatePlanInput", &plan(year.clone())), ok, "plan_year {year}");
    }
    let position = |field: &str, v: Value| {
        let mut p = ordinary(1);
        p[field] = v;
        p
    };
    let cases = [
        ("row_version", json!(0), true),
        ("row_version", json!(i64::MAX), true),
        ("row_version", json!(u64::MAX), false),
        ("row_version", json!(-1), false),
        ("amount_second", json!(""), true),
        ("amount_second", json!("1\u{a0}250\u{a0}000,5"), true),
        ("amount_second", json!("123456789012345678.99"), true),
        ("amount_second", json!("1234567890123456789"), false),
        ("amount_second", json!("-5"), false),
        ("amount_second", json!("12,345"), false),
        ("amount_second", json!("сто"), false),
        ("publish_year", json!("2026"), true),
        ("publish_year", json!("26"), false),
        ("okpd2", json!("38.11.21.000; 81.29.12, 58.11"), true),
        ("okpd2", json!("58"), false),
        ("okpd2", json!("38.11.21.0000"), false),
        ("kvr", json!(""), true),
        ("kvr", json!("24"), false),
        ("object_info", json!("Учебники\nи тетради\t(2 строки)"), true),
        ("object_info", json!("Учебники\u{0}"), false),
        ("object_info", json!("Учебники\u{1b}"), false),
        ("object_info", json!("x".repeat(2001)), false),
        ("lines", json!([{"code": "244", "current": "1"}, {"code": "07507021234567890244"}]), true),
        ("lines", json!([{"current": "1"}]), false),
        ("lines", json!([{"code": "24"}]), false),
    ];
    for (field, v, ok) in cases {
        assert_eq!(conforms(&doc, "PositionInput", &position(field, v.clone())), ok, "{field} = {v}");
    }
    let mut special = ordinary(1);
    special.as_object_mut().unwrap().remove("publish_year");
    assert!(!conforms(&doc, "PositionInput", &special), "publish_year is required");
    assert!(conforms(&doc, "NewPositionInput", &new_position()));
    assert!(conforms(&doc, "NewPositionInput", &ordinary(1)), "a version sent by an older client is accepted");
    let person = |field: &str, v: Value| {
        let mut p = json!({"row_version": 1, "last_name": "Петрова", "first_name": "Анна", "position": "контрактный управляющий"});
        p[field] = v;
        p
    };
    for (field, v, ok) in [
        ("phone", json!("+7 (812) 123-45-67"), true),
        ("phone", json!(""), true),
        ("phone", json!("1234"), false),
        ("phone", json!("звонить"), false),
        ("position", json!(" "), false),
        ("last_name", json!("Петрова\nАнна"), false),
        ("last_name", json!("П".repeat(201)), false),
        ("middle_name", json!(""), true),
    ] {
        assert_eq!(conforms(&doc, "ResponsibleInput", &person(field, v.clone())), ok, "{field} = {v}");
    }
    assert!(!conforms(&doc, "ReturnInput", &json!({"comment": " \u{3000} "})), "a blank comment");
    assert!(conforms(&doc, "ReturnInput", &json!({"comment": "Уточните сумму"})));
    assert!(
        !conforms(&doc, "CancelInput", &json!({"row_version": 1, "reason_code": "9"})),
        "a cancellation needs its justification"
    );
}

/// Values at the edges of what the document allows are accepted as such by the server.
#[tokio::test]
async fn what_the_document_allows_the_server_accepts() {
    let h = Harness::start().await;
    let customer = Api::signed_in(&h, "zakazchik", "zakazchik").await;
    let r = customer.call(Method::POST, "/api/v1/plans", &[], Some(json!({"plan_year": 2099}))).await;
    assert_eq!(r.status, 201, "{r:?}");
    let plan = r.json["id"].as_i64().unwrap();
    let rv = r.json["row_version"].as_i64().unwrap();
    let mut p = ordinary(rv);
    p["publish_year"] = json!(" 2099 ");
    p["okpd2"] = json!("58.11.19.000; 58.11");
    p["kvr"] = json!(" 244 ");
    p["amount_current"] = json!("1\u{a0}000\u{202f}000,5");
    p["amount_second"] = json!("");
    p["object_info"] = json!("Учебники\r\nи тетради\t5-х классов");
    let r = customer.call(Method::POST, POSITIONS, &[plan], Some(p)).await;
    assert_eq!(r.status, 201, "{r:?}");
    assert_eq!(money(&r.json["position"]["amounts"]["current"]), "1000000.50".parse().unwrap());
    assert_eq!(money(&r.json["position"]["amounts"]["second"]), "0".parse().unwrap());
    let person = json!({"row_version": rv, "last_name": "Петрова", "first_name": "Анна", "position": "контрактный управляющий", "phone": "+7 (812) 123-45-67"});
    let r = customer.call(Method::PUT, "/api/v1/plans/{id}/responsible", &[plan], Some(person)).await;
    assert_eq!(r.status, 200, "{r:?}");
    let r = customer
        .call_with(Method::DELETE, POSITION, &[plan, i64::MAX], &format!("?row_version={}", i64::MAX), None)
        .await;
    assert_eq!(r.status, 404, "the largest documented ids and row versions parse");
    // JSON Schema counts 2098.0 as an integer, and so does the server.
    let r = customer.call(Method::POST, "/api/v1/plans", &[], Some(json!({"plan_year": 2098.0}))).await;
    assert_eq!(r.status, 201, "{r:?}");
    assert_eq!(r.json["plan_year"], 2098);
    let other = r.json["id"].as_i64().unwrap();
    let rv = r.json["row_version"].as_f64().unwrap();
    let r = customer
        .call(
            Method::PUT,
            "/api/v1/plans/{id}/owner-role",
            &[other],
            Some(json!({"row_version": rv, "owner_role": "OA"})),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let r =
        customer.call_with(Method::POST, "/api/v1/plans", &[], "", Some((json!({"plan_year": 2097.5}), false))).await;
    assert_eq!(r.status, 400);
    // A field the document does not have is refused by name rather than ignored.
    let mut typo = ordinary(r.json["row_version"].as_i64().unwrap_or(1));
    typo["amount_curent"] = json!("100");
    let r = customer.call_with(Method::POST, POSITIONS, &[plan], "", Some((typo, false))).await;
    assert_eq!(r.status, 400);
    assert!(r.detail().contains("«amount_curent»"), "{}", r.detail());
    let mut nested = ordinary(1);
    nested["lines"] = json!([{"code": "244", "curent": "1"}]);
    let r = customer.call_with(Method::POST, POSITIONS, &[plan], "", Some((nested, false))).await;
    assert_eq!(r.status, 400);
    assert!(r.detail().contains("«lines[0].curent»"), "{}", r.detail());
    let r = customer
        .call_with(
            Method::PUT,
            "/api/v1/plans/{id}/owner-role",
            &[other],
            "",
            Some((json!({"row_version": 2, "owner_role": "CU", "x": 1}), false)),
        )
        .await;
    assert_eq!(r.status, 400);
    h.app.stop().await;
}

/// `DELETE /api/v1/auth/token` revokes the calling token only; a login delayed after wrong
/// passwords answers 429 with Retry-After (the first delay is one second and then doubles).
#[tokio::test]
async fn tokens_are_revoked_and_sign_in_is_throttled() {
    let h = Harness::start().await;
    let first = Api::signed_in(&h, "zakazchik", "zakazchik").await;
    let second = Api::signed_in(&h, "zakazchik", "zakazchik").await;
    let r = first.call(Method::DELETE, "/api/v1/auth/token", &[], None).await;
    assert_eq!(r.status, 204, "{r:?}");
    assert_eq!(first.call(Method::GET, "/api/v1/me", &[], None).await.status, 401, "the revoked token no longer works");
    assert_eq!(first.call(Method::DELETE, "/api/v1/auth/token", &[], None).await.status, 401);
    assert_eq!(
        second.call(Method::GET, "/api/v1/me", &[], None).await.status,
        200,
        "the user's other token still works"
    );

    let anon = Api::new(&h).await;
    let wrong = json!({"login": "soglasovatel", "password": "not-the-password"});
    let mut statuses = Vec::new();
    for _ in 0..6 {
        let r = anon.call(Method::POST, "/api/v1/auth/token", &[], Some(wrong.clone())).await;
        statuses.push(r.status);
        if r.status == 429 {
            let seconds: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
            assert!(seconds >= 1, "Retry-After {seconds}");
            break;
        }
    }
    assert_eq!(statuses, [401, 401, 401, 401, 401, 429], "five free failures, then a delay");
    h.app.stop().await;
}

#[tokio::test]
async fn positions_page_by_page_with_filters_and_totals() {
    let h = Harness::start().await;
    let customer = Api::signed_in(&h, "zakazchik", "zakazchik").await;
    let r = customer.call(Method::POST, "/api/v1/plans", &[], Some(json!({"plan_year": 2026}))).await;
    assert_eq!(r.status, 201, "{r:?}");
    let plan = r.json["id"].as_i64().unwrap();
    let rv = r.json["row_version"].as_i64().unwrap();
    let items = [
        ("Поставка учебников для 5-х классов", "58.11.19.000", "244", "100"),
        ("Вывоз твёрдых коммунальных отходов", "38.11.21.000", "244", "200"),
        ("Поставка Учебников для 6-х классов", "58.11.19.000", "244", "300"),
        ("Уборка помещений", "81.29.12", "244", "400"),
        ("Ремонт кровли", "43.91.19.110", "243", "500"),
    ];
    for (rv, (object, okpd2, kvr, amount)) in (rv..).zip(items) {
        let body = json!({"object_info": object, "publish_year": "2026", "okpd2": okpd2, "kvr": kvr,
            "amount_current": amount, "row_version": rv});
        let r = customer.call(Method::POST, POSITIONS, &[plan], Some(body)).await;
        assert_eq!(r.status, 201, "{r:?}");
    }
    let detail = customer.call(Method::GET, PLAN, &[plan], None).await;
    assert_eq!(detail.json["position_count"], 5);
    assert_eq!(detail.json["positions"].as_array().unwrap().len(), 5, "all five fit the first page");
    assert!(detail.json["positions_next"].is_null());
    assert_eq!(money(&detail.json["totals"]["current"]), "1500".parse().unwrap(), "summed in the database");

    // Page by page with the cursor, in purchase-number order.
    let mut seen = Vec::new();
    let mut query = "?limit=2".to_owned();
    for expected in [2, 2, 1] {
        let r = customer.call_with(Method::GET, POSITIONS, &[plan], &query, None).await;
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(r.json["count"], 5);
        let page = r.json["items"].as_array().unwrap();
        assert_eq!(page.len(), expected);
        seen.extend(page.iter().map(|p| p["purchase_number"].as_i64().unwrap()));
        match r.json["next_cursor"].as_str() {
            Some(c) => query = format!("?limit=2&cursor={c}"),
            None => assert_eq!(expected, 1, "the last page has no cursor"),
        }
    }
    assert_eq!(seen, [1, 2, 3, 4, 5]);

    // Search by object name (any case) or ОКПД2 code, ОКПД2 prefix, КВР; totals of what is selected.
    let r = customer
        .call_with(Method::GET, POSITIONS, &[plan], "?q=%D1%83%D1%87%D0%B5%D0%B1%D0%BD%D0%B8%D0%BA", None)
        .await;
    let numbers: Vec<i64> =
        r.json["items"].as_array().unwrap().iter().map(|p| p["purchase_number"].as_i64().unwrap()).collect();
    assert_eq!(numbers, [1, 3], "«учебник» in either case");
    assert_eq!(money(&r.json["totals"]["current"]), "400".parse().unwrap());
    let r = customer.call_with(Method::GET, POSITIONS, &[plan], "?q=38.11", None).await;
    assert_eq!(r.json["count"], 1);
    let r = customer.call_with(Method::GET, POSITIONS, &[plan], "?okpd2=58", None).await;
    assert_eq!(r.json["count"], 2);
    let r = customer.call_with(Method::GET, POSITIONS, &[plan], "?okpd2=11", None).await;
    assert_eq!(r.json["count"], 0, "a prefix, not any part of the code");
    let r = customer.call_with(Method::GET, POSITIONS, &[plan], "?kvr=243", None).await;
    assert_eq!(r.json["items"][0]["purchase_number"], 5);
    let r = customer.call_with(Method::GET, POSITIONS, &[plan], "?mark=new", None).await;
    assert_eq!(r.json["count"], 5, "without an approved version every position is new");
    let r = customer.call_with(Method::GET, POSITIONS, &[plan], "?mark=canceled", None).await;
    assert_eq!(r.json["count"], 0);
    let r = customer.call_with(Method::GET, POSITIONS, &[plan], "?q=%25", None).await;
    assert_eq!(r.json["count"], 0, "a LIKE wildcard is searched as text");

    // What the server does not understand is a Russian 400.
    let r = customer.call_with(Method::GET, POSITIONS, &[plan], "?cursor=zzz", None).await;
    assert_eq!(r.status, 400);
    let r = customer.call_with(Method::GET, POSITIONS, &[plan], "?limit=0", None).await;
    assert_eq!(r.status, 400);
    let r = customer.call_with(Method::GET, POSITIONS, &[plan], "?mark=odd", None).await;
    assert_eq!(r.status, 400);
    // Beyond what the OpenAPI document allows is refused too, not cut short or taken as absent.
    let long = format!("?q={}", "0".repeat(201));
    let r = customer.call_with(Method::GET, POSITIONS, &[plan], &long, None).await;
    assert_eq!(r.status, 400);
    assert!(r.json["detail"].as_str().unwrap().contains("длиннее 200 символов"), "{}", r.json);
    for empty in ["?cursor=", "?mark=", "?findings="] {
        let r = customer.call_with(Method::GET, POSITIONS, &[plan], empty, None).await;
        assert_eq!(r.status, 400, "{empty}");
    }
}

#[tokio::test]
async fn plan_list_pages_by_cursor_and_filters_what_awaits_the_caller() {
    let h = Harness::start().await;
    let store = &h.app.store;
    let school = store.organization_by_spz(plangraf::demo::SCHOOL.spz_code).await.unwrap().unwrap();
    let district = store.organization_by_spz(plangraf::demo::DISTRICT.spz_code).await.unwrap().unwrap();
    let author = store.user_by_login("zakazchik").await.unwrap().unwrap().id;
    let mut awaiting = Vec::new();
    for (org, years) in [(school.id, 2020..2027), (district.id, 2023..2026)] {
        for year in years {
            let p = store.create_plan(org, year, author).await.unwrap().unwrap();
            if year % 2 == 0 {
                store
                    .change_plan_status(
                        &p,
                        domain::PlanStatus::Forming,
                        domain::PlanStatus::OnApproval,
                        None,
                        author,
                        "x",
                    )
                    .await
                    .unwrap();
                awaiting.push(p.id.get());
            }
        }
    }
    let approver = Api::signed_in(&h, "soglasovatel", "soglasovatel").await;
    let customer = Api::signed_in(&h, "zakazchik", "zakazchik").await;
    for (who, query, expected) in
        [(&approver, "", 10), (&approver, "&awaiting=true", awaiting.len()), (&customer, "", 7)]
    {
        let mut ids = Vec::new();
        let mut next = format!("?limit=3{query}");
        loop {
            let r = who.call_with(Method::GET, "/api/v1/plans", &[], &next, None).await;
            assert_eq!(r.status, 200, "{r:?}");
            assert_eq!(r.json["count"], expected, "{query}");
            let items = r.json["items"].as_array().unwrap();
            assert!(items.len() <= 3);
            ids.extend(items.iter().map(|i| i["id"].as_i64().unwrap()));
            if !query.is_empty() {
                assert!(items.iter().all(|i| i["awaits_my_decision"] == true));
            }
            match r.json["next_cursor"].as_str() {
                Some(c) => next = format!("?limit=3{query}&cursor={c}"),
                None => break,
            }
        }
        let mut sorted = ids.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!((ids.len(), &ids), (expected, &sorted), "every plan once, by id ({query})");
        if !query.is_empty() {
            let mut want = awaiting.clone();
            want.sort_unstable();
            assert_eq!(ids, want);
        }
    }
    // Any cursor of the documented form is taken: from the start, or past the end.
    let r = approver.call_with(Method::GET, "/api/v1/plans", &[], "?cursor=c0", None).await;
    assert_eq!((r.status, r.json["items"].as_array().unwrap().len()), (200, 10));
    let r = approver.call_with(Method::GET, "/api/v1/plans", &[], "?cursor=cffffffffffffffff", None).await;
    assert_eq!((r.status, r.json["items"].as_array().unwrap().len(), r.json["count"].as_i64()), (200, 0, Some(10)));
    for bad in
        ["?cursor=zzz", "?cursor=", "?cursor=c", "?cursor=cA", "?awaiting=yes", "?awaiting=", "?limit=0", "?limit=501"]
    {
        let r = approver.call_with(Method::GET, "/api/v1/plans", &[], bad, None).await;
        assert_eq!(r.status, 400, "{bad}");
        assert!(r.json["detail"].as_str().unwrap().contains("Параметр"), "{bad}: {}", r.json);
    }
    h.app.stop().await;
}

/// Polls a job through the API until it is no longer running (bounded: 30 s).
async fn job_done(api: &Api, job: i64) -> Reply {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let r = api.call(Method::GET, "/api/v1/jobs/{id}", &[job], None).await;
        assert_eq!(r.status, 200, "{r:?}");
        if r.json["status"] != "running" {
            return r;
        }
        assert!(std::time::Instant::now() < deadline, "job {job} still running: {r:?}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn sending_jobs_reconciliation_and_notifications_through_the_api() {
    const SEND: &str = "/api/v1/versions/{id}/send";
    let h = Harness::start_driven().await;
    let mut page = h.client();
    page.login("zakazchik", "zakazchik").await;
    let (plan, version) = approved_plan(&h, &mut page, "2026").await;
    let customer = Api::signed_in(&h, "zakazchik", "zakazchik").await;
    let approver = Api::signed_in(&h, "soglasovatel", "soglasovatel").await;

    // Never sent; without credentials nothing is queued.
    let r = customer.call(Method::GET, SEND, &[version], None).await;
    assert_eq!(
        (r.status, r.json["status"].clone(), r.json["status_title"].clone()),
        (200, json!(null), json!("Не отправлена"))
    );
    let r = customer.call(Method::POST, SEND, &[version], Some(json!({}))).await;
    assert_eq!(r.status, 409, "{r:?}");
    assert!(r.detail().contains("логин и пароль ЕИС"), "{}", r.detail());
    let r = customer.call(Method::POST, "/api/v1/sends/bulk", &[], None).await;
    assert_eq!(r.status, 409, "no saved credentials, no job: {r:?}");
    assert!(h.app.store.latest_send(domain::ids::VersionId(version)).await.unwrap().is_none());
    // The approver may read the version but not send it.
    let r = approver.call(Method::POST, SEND, &[version], Some(json!({"login": "x", "password": "y"}))).await;
    assert!(matches!(r.status, 403 | 409), "{r:?}");
    // A misspelt field is refused, naming it.
    let r = customer.call_with(Method::POST, SEND, &[version], "", Some((json!({"pasword": "x"}), false))).await;
    assert_eq!(r.status, 400);
    assert!(r.detail().contains("pasword"), "{}", r.detail());

    // With the saved credentials: queued once, then loaded and placed.
    let (login, password) = h.eis_credentials("eis_user").await;
    page.save_eis_credentials(&login, &password).await;
    let r = customer.call(Method::POST, SEND, &[version], Some(json!({}))).await;
    assert_eq!(r.status, 202, "{r:?}");
    assert_eq!((r.json["status"].clone(), r.json["active"].clone()), (json!("queued"), json!(true)));
    assert_eq!(r.json["eis_login"], login.as_str());
    assert!(!r.text.contains(&password), "the password is never answered");
    let r = customer.call(Method::POST, SEND, &[version], Some(json!({}))).await;
    assert_eq!(r.status, 409, "a version already on its way is not queued twice: {r:?}");
    drive_until(&h, &[domain::ids::VersionId(version)], domain::SendStatus::Loaded.title()).await;
    let r = customer.call(Method::GET, SEND, &[version], None).await;
    assert_eq!(r.json["status"], "loaded", "{r:?}");
    assert!(r.json["attempts"].as_i64().unwrap() >= 1);
    let events = r.json["events"].as_array().unwrap();
    assert_eq!(events.first().unwrap()["status"], "queued", "oldest first: {events:?}");
    assert_eq!(events.last().unwrap()["status"], "loaded", "{events:?}");
    assert_eq!(r.json["eis_plan_number"], json!(null), "no registry number before placement");
    h.sandbox.directory().publish(plangraf::demo::SCHOOL.spz_code, 2026).await.unwrap();
    drive_until(&h, &[domain::ids::VersionId(version)], domain::SendStatus::Published.title()).await;
    let r = customer.call(Method::GET, SEND, &[version], None).await;
    assert_eq!(r.json["status"], "published");
    let number = r.json["eis_plan_number"].as_str().unwrap().to_owned();
    assert_eq!(r.json["eis_position_numbers"]["0001"], format!("{number}000001"));

    // «Сверить с ЕИС»: ЕИС's copy agrees with version 0; another organization's plan is not found.
    let r = customer.call(Method::POST, "/api/v1/plans/{id}/reconcile", &[plan], None).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!((r.json["plan_number"].as_str(), r.json["compared_with"].clone()), (Some(&*number), json!(0)));
    assert_eq!(r.json["differences"], json!([]));
    let stranger = Api::signed_in(&h, "admin", "admin").await;
    let r = stranger.call(Method::POST, "/api/v1/plans/{id}/reconcile", &[plan], None).await;
    assert!(matches!(r.status, 403 | 404 | 409), "{r:?}");
    // «Загрузить из ЕИС» with a number of another organization: the field is named, nothing made.
    let plans_before = h.app.store.plans_visible_to(domain::ids::OrgId(page_org(&h).await)).await.unwrap().len();
    let r = customer
        .call(
            Method::POST,
            "/api/v1/plans/eis-import",
            &[],
            Some(json!({"plan_year": 2027, "plan_number": "202700000000000001"})),
        )
        .await;
    assert_eq!(r.status, 422, "{r:?}");
    assert_eq!(r.error_fields(), ["plan_number"]);
    assert_eq!(h.app.store.plans_visible_to(domain::ids::OrgId(page_org(&h).await)).await.unwrap().len(), plans_before);

    // «Отправить все» as a job: nothing left to send; the job is its starter's only.
    let r = customer.call(Method::POST, "/api/v1/sends/bulk", &[], None).await;
    assert_eq!(r.status, 202, "{r:?}");
    let job = r.json["job_id"].as_i64().unwrap();
    assert_eq!(r.json["href"], format!("/api/v1/jobs/{job}"));
    let r = job_done(&customer, job).await;
    assert_eq!((r.json["status"].clone(), r.json["kind"].clone()), (json!("done"), json!("send_all")), "{r:?}");
    assert_eq!(r.json["succeeded"], 0);
    let r = approver.call(Method::GET, "/api/v1/jobs/{id}", &[job], None).await;
    assert_eq!(r.status, 404, "another user's job is not found");

    // «Утвердить выбранные» as a job: one plan approved, one refused with its reason.
    let second = page.create_plan("2027").await;
    let mut position = crate::common::POSITION;
    position[1] = ("publish_year", "2027");
    let p = page.add_position(second, &position).await;
    assert!(p.has("Позиция добавлена"), "{}", p.body);
    let p = page.post(&format!("/plans/{second}/submit"), &[]).await;
    assert!(p.has("На согласовании"), "{}", p.body);
    let r = approver
        .call_with(Method::POST, "/api/v1/plans/bulk-approve", &[], "", Some((json!({"plan_ids": []}), false)))
        .await;
    assert!(matches!(r.status, 400 | 422), "nothing ticked: {r:?}");
    let r = approver
        .call_with(Method::POST, "/api/v1/plans/bulk-approve", &[], "", Some((json!({"plan_ids": [0]}), false)))
        .await;
    assert_eq!(r.status, 400, "an id below 1: {r:?}");
    // An integral number written with a fraction is an integer to JSON Schema, as the document says.
    let r = approver
        .call(Method::POST, "/api/v1/plans/bulk-approve", &[], Some(json!({"plan_ids": [second as f64, plan]})))
        .await;
    assert_eq!(r.status, 202, "{r:?}");
    let r = job_done(&approver, r.json["job_id"].as_i64().unwrap()).await;
    assert_eq!(
        (r.json["status"].clone(), r.json["total"].clone(), r.json["succeeded"].clone()),
        (json!("done"), json!(2), json!(1)),
        "{r:?}"
    );
    assert_eq!(r.json["problems"].as_array().unwrap().len(), 1, "the placed plan is refused: {r:?}");
    assert_eq!(
        h.app.store.plan(domain::ids::PlanId(second)).await.unwrap().unwrap().status,
        domain::PlanStatus::Approved
    );

    // Notifications: the customer's own, read one by one or all at once.
    let r = customer.call(Method::GET, "/api/v1/notifications", &[], None).await;
    assert_eq!(r.status, 200, "{r:?}");
    let kinds: Vec<&str> = r.json["items"].as_array().unwrap().iter().filter_map(|n| n["kind"].as_str()).collect();
    for want in ["plan_approved", "send_loaded", "send_published"] {
        assert!(kinds.contains(&want), "{want} in {kinds:?}");
    }
    let unread = r.json["unread"].as_i64().unwrap();
    assert!(unread >= 3, "{r:?}");
    let first = r.json["items"][0]["id"].as_i64().unwrap();
    let r = approver.call(Method::POST, "/api/v1/notifications/{id}/read", &[first], None).await;
    assert_eq!(r.status, 404, "another user's notification is not found");
    let r = customer.call(Method::POST, "/api/v1/notifications/{id}/read", &[first], None).await;
    assert_eq!((r.status, r.json["marked"].clone()), (200, json!(1)));
    let r = customer.call(Method::POST, "/api/v1/notifications/read-all", &[], None).await;
    assert_eq!(r.json["marked"], unread - 1);
    let r = customer.call(Method::GET, "/api/v1/notifications", &[], None).await;
    assert_eq!(r.json["unread"], 0);
    let r = customer.call_with(Method::GET, "/api/v1/notifications", &[], "?page=x", None).await;
    assert_eq!(r.status, 400);
    let r = customer.call_with(Method::GET, "/api/v1/notifications", &[], "?page=1000001", None).await;
    assert_eq!(r.status, 400, "beyond the documented maximum: {r:?}");
    let r = customer.call_with(Method::GET, "/api/v1/notifications", &[], "?page=1000000", None).await;
    assert_eq!(r.status, 200, "{r:?}");
    h.app.stop().await;
}

async fn page_org(h: &Harness) -> i64 {
    h.app.store.user_by_login("zakazchik").await.unwrap().unwrap().org_id.get()
}
