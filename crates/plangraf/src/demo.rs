//! Demo data: a superior organization with two subordinate customers (each with an agreement on
//! the transfer of powers to it), their users, and the
//! matching organizations and users in eis-sandbox. Loading is idempotent: existing
//! organizations and users are kept as they are.

use anyhow::Context;
use domain::ids::OrgId;
use domain::{OrgType, Role};
use store::Store;
use store::orgs::NewOrganization;

pub struct DemoOrg {
    pub name: &'static str,
    pub short_name: &'static str,
    pub spz_code: &'static str,
    pub inn: &'static str,
    pub kpp: &'static str,
    pub org_type: OrgType,
}

pub const COMMITTEE: DemoOrg = DemoOrg {
    name: "Комитет по образованию",
    short_name: "Комитет по образованию",
    spz_code: "03722000010",
    inn: "7830000426",
    kpp: "784001001",
    org_type: OrgType::Authority,
};

pub const SCHOOL: DemoOrg = DemoOrg {
    name: "Государственное бюджетное общеобразовательное учреждение «Школа № 1»",
    short_name: "ГБОУ «Школа № 1»",
    spz_code: "03722001001",
    inn: "7801000011",
    kpp: "780101001",
    org_type: OrgType::Budget,
};

pub const DISTRICT: DemoOrg = DemoOrg {
    name: "Отдел образования администрации Центрального района",
    short_name: "Отдел образования Центрального района",
    spz_code: "03722001002",
    inn: "7801000022",
    kpp: "780101001",
    org_type: OrgType::Authority,
};

pub struct DemoUser {
    pub login: &'static str,
    pub password: &'static str,
    pub full_name: &'static str,
    pub role: Role,
}

pub const USERS: [(&DemoOrg, DemoUser); 4] = [
    (
        &SCHOOL,
        DemoUser {
            login: "zakazchik",
            password: "zakazchik",
            full_name: "Петрова Анна Сергеевна",
            role: Role::CustomerSpecialist,
        },
    ),
    // Places in ЕИС the plans its subordinates hand over to it (role OA).
    (
        &COMMITTEE,
        DemoUser {
            login: "komitet",
            password: "komitet",
            full_name: "Кузнецова Мария Игоревна",
            role: Role::CustomerSpecialist,
        },
    ),
    (
        &COMMITTEE,
        DemoUser {
            login: "soglasovatel",
            password: "soglasovatel",
            full_name: "Смирнов Олег Викторович",
            role: Role::Approver,
        },
    ),
    (
        &COMMITTEE,
        DemoUser {
            login: "admin", password: "admin", full_name: "Администратор системы", role: Role::Admin
        },
    ),
];

/// Sandbox users: (organization, login, password, org admin, plan rights, name).
pub const SANDBOX_USERS: [(&DemoOrg, &str, &str, bool, bool, &str); 3] = [
    (&SCHOOL, "eis_admin", "eis_admin", true, true, "Иванов Сергей Петрович"),
    (&SCHOOL, "eis_user", "eis_user", false, true, "Петрова Анна Сергеевна"),
    (&COMMITTEE, "eis_komitet", "eis_komitet", true, true, "Кузнецова Мария Игоревна"),
];

async fn ensure_org(store: &Store, o: &DemoOrg, superior: Option<OrgId>) -> anyhow::Result<OrgId> {
    Ok(store
        .ensure_organization(&NewOrganization {
            name: o.name,
            short_name: o.short_name,
            superior_id: superior,
            spz_code: domain::SpzCode::parse(o.spz_code)?,
            inn: domain::org::Inn::parse(o.inn)?,
            kpp: domain::org::Kpp::parse(o.kpp)?,
            org_type: o.org_type,
            budget_level: 2,
            oktmo: "40911000",
        })
        .await?
        .id)
}

/// Loads the plangraf side of the demo.
pub async fn load(store: &Store) -> anyhow::Result<()> {
    let committee = ensure_org(store, &COMMITTEE, None).await?;
    // The committee places plans for its subordinates under agreements on the transfer of
    // powers (role OA), as the sandbox's powers say (see `load_sandbox`).
    for o in [&SCHOOL, &DISTRICT] {
        let id = ensure_org(store, o, Some(committee)).await?;
        if store.agreements_of(id).await?.is_empty() {
            let agreement = store::org_admin::NewAgreement {
                subordinate_id: id,
                agent_id: committee,
                number: "1-ДЕМО",
                signed_on: "2025-01-09",
                valid_from: None,
                valid_to: None,
            };
            let details =
                format!("Соглашение № 1-ДЕМО от 09.01.2025; уполномоченная организация {}", COMMITTEE.short_name);
            store.admin_add_agreement(None, &agreement, &details).await?;
        }
    }
    for (org, u) in USERS {
        if store.user_credentials(u.login).await?.is_some() {
            continue;
        }
        let org_id = store.organization_by_spz(org.spz_code).await?.context("demo organization")?.id;
        let hash = app::users::hash(u.password.to_owned()).await.map_err(|e| anyhow::anyhow!("{}", e.chain()))?;
        store.create_user(u.login, &hash, u.full_name, org_id, u.role).await?;
    }
    Ok(())
}

/// Loads the eis-sandbox side of the demo.
pub async fn load_sandbox(dir: &sandbox::Directory) -> anyhow::Result<()> {
    for o in [&COMMITTEE, &SCHOOL, &DISTRICT] {
        dir.ensure_organization(o.spz_code, o.name, o.inn, o.kpp).await?;
    }
    for (org, login, password, admin, rights, name) in SANDBOX_USERS {
        dir.ensure_user(login, password, org.spz_code, admin, rights, name).await?;
    }
    // The committee places plans for its subordinates that hand this over to it (role OA).
    for customer in [&SCHOOL, &DISTRICT] {
        dir.grant_powers(customer.spz_code, COMMITTEE.spz_code).await?;
    }
    Ok(())
}
