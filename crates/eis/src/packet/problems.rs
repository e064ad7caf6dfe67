//! Structural checks: where a packet does not fit the lengths and patterns of the schema.

use super::*;

/// One place where a packet does not fit the lengths and patterns of the schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Where, as an element path (`data/positions/position[2]/commonInfo/IKZ`).
    pub path: String,
    /// What is wrong, in Russian.
    pub message: String,
}

fn is_digits(s: &str, n: usize) -> bool {
    s.len() == n && s.bytes().all(|b| b.is_ascii_digit())
}

struct Checker(Vec<Problem>);

impl Checker {
    fn add(&mut self, path: &str, message: String) {
        self.0.push(Problem { path: path.to_owned(), message });
    }
    fn digits(&mut self, path: &str, s: &str, n: usize, what: &str) {
        if !is_digits(s, n) {
            self.add(path, format!("{what} должен состоять из {n} цифр (указано «{s}»)"));
        }
    }
    fn len(&mut self, path: &str, s: &str, min: usize, max: usize, what: &str) {
        let n = s.chars().count();
        if n < min || n > max {
            if min == max {
                self.add(path, format!("{what}: требуется ровно {min} символов, указано {n}"));
            } else {
                self.add(path, format!("{what}: допустимая длина {min}–{max} символов, указано {n}"));
            }
        }
        if !s.chars().all(xml::is_xml_char) {
            self.add(path, format!("{what} содержит недопустимые управляющие символы"));
        }
    }
    fn opt_len(&mut self, path: &str, s: Option<&str>, min: usize, max: usize, what: &str) {
        if let Some(s) = s {
            self.len(path, s, min, max, what);
        }
    }
    fn year(&mut self, path: &str, y: i32, what: &str) {
        if !(1000..=9999).contains(&y) {
            self.add(path, format!("{what}: год должен состоять из 4 цифр (указано {y})"));
        }
    }
    fn money(&mut self, path: &str, d: Decimal) {
        // 18 digits before the point; the writer rounds to two decimals.
        if d.abs().trunc() >= Decimal::from(10u64.pow(18)) {
            self.add(path, format!("Сумма {d} превышает 18 знаков до запятой"));
        }
        if d.scale() > 2 && d.round_dp(2) != d {
            self.add(path, format!("Сумма {d} содержит более двух знаков после запятой"));
        }
    }
    fn years(&mut self, path: &str, y: &YearAmounts) {
        if let Some(t) = y.total {
            self.money(&format!("{path}/total"), t);
        }
        self.money(&format!("{path}/currentYear"), y.current_year);
        self.money(&format!("{path}/firstYear"), y.first_year);
        self.money(&format!("{path}/secondYear"), y.second_year);
        self.money(&format!("{path}/subsecYears"), y.subsec_years);
    }
    fn kbks(&mut self, path: &str, item: &str, years: &str, list: &[KbkAmounts]) {
        for (k, kbk) in list.iter().enumerate() {
            let kp = format!("{path}/{item}[{}]", k + 1);
            self.len(&format!("{kp}/KBK"), &kbk.kbk, 20, 20, "КБК");
            self.years(&format!("{kp}/{years}"), &kbk.years);
        }
    }
    fn kvrs(&mut self, path: &str, item: &str, years: &str, list: &[KvrAmounts]) {
        for (k, kvr) in list.iter().enumerate() {
            let kp = format!("{path}/{item}[{}]", k + 1);
            self.len(&format!("{kp}/KVR/code"), &kvr.kvr, 3, 3, "Код КВР");
            self.years(&format!("{kp}/{years}"), &kvr.years);
        }
    }
    fn targets(&mut self, path: &str, item: &str, years: &str, list: &[TargetArticleAmounts]) {
        for (k, t) in list.iter().enumerate() {
            let kp = format!("{path}/{item}[{}]", k + 1);
            self.len(&format!("{kp}/targetArticle"), &t.target_article, 10, 10, "Целевая статья");
            self.years(&format!("{kp}/{years}"), &t.years);
        }
    }
    fn code_name(
        &mut self,
        path: &str,
        c: Option<&CodeName>,
        code_max: usize,
        name_element: &str,
        name_max: usize,
        what: &str,
    ) {
        let Some(c) = c else { return };
        self.len(&format!("{path}/code"), &c.code, 1, code_max, &format!("Код {what}"));
        self.opt_len(
            &format!("{path}/{name_element}"),
            c.name.as_deref(),
            1,
            name_max,
            &format!("Наименование {what}"),
        );
    }
    fn org(&mut self, path: &str, reg_num: &str, o: &OrgDetails, what: &str) {
        self.digits(&format!("{path}/regNum"), reg_num, 11, what);
        self.opt_len(
            &format!("{path}/consRegistryNum"),
            o.cons_registry_num.as_deref(),
            8,
            8,
            "Код по Сводному реестру",
        );
        self.opt_len(&format!("{path}/fullName"), o.full_name.as_deref(), 1, 2000, "Полное наименование организации");
        if let Some(inn) = &o.inn
            && !is_digits(inn, 10)
            && !is_digits(inn, 12)
        {
            self.add(&format!("{path}/INN"), format!("ИНН должен состоять из 10 или 12 цифр (указано «{inn}»)"));
        }
        self.opt_len(&format!("{path}/KPP"), o.kpp.as_deref(), 9, 9, "КПП");
        self.code_name(&format!("{path}/OKTMO"), o.oktmo.as_ref(), 11, "name", 1000, "ОКТМО");
        self.opt_len(&format!("{path}/factAddress"), o.fact_address.as_deref(), 1, 2000, "Фактический адрес");
        self.opt_len(&format!("{path}/phone"), o.phone.as_deref(), 1, 30, "Телефон");
        self.opt_len(&format!("{path}/email"), o.email.as_deref(), 1, 256, "Адрес электронной почты");
        if let Some(a) = &o.control_authority {
            let ap = format!("{path}/controlAuthorityInfo");
            self.digits(&format!("{ap}/regNum"), &a.reg_num, 11, "Код органа контроля по СПЗ");
            self.opt_len(
                &format!("{ap}/consRegistryNum"),
                a.cons_registry_num.as_deref(),
                8,
                8,
                "Код по Сводному реестру",
            );
            self.opt_len(&format!("{ap}/fullName"), a.full_name.as_deref(), 1, 2000, "Наименование органа контроля");
        }
    }
    fn modification(&mut self, path: &str, m: &Modification, reason_required: bool) {
        if !m.change_reason_code.is_empty() || reason_required {
            self.len(&format!("{path}/changeReason/code"), &m.change_reason_code, 1, 10, "Код основания изменения");
        }
        self.len(
            &format!("{path}/changeReason/name"),
            &m.change_reason_name,
            0,
            2000,
            "Наименование основания изменения",
        );
        self.len(&format!("{path}/description"), &m.description, 0, 2000, "Обоснование изменения");
    }
}

impl PlanPacket {
    /// Where the packet does not fit the schema's lengths, patterns and required elements.
    /// An empty list means the written XML is valid against `fcsIntegration.xsd` as far as
    /// this model can make it invalid (kept content is written as read and not checked).
    /// Business rules (ИКЗ consistency, which blocks an organization type may fill and the
    /// like) are not checked here.
    pub fn problems(&self) -> Vec<Problem> {
        let mut c = Checker(Vec::new());
        let i = &self.index;
        c.len("index/id", &i.id, 36, 36, "Идентификатор пакета");
        c.len("index/sender", &i.sender, 0, 200, "Отправитель");
        c.len("index/receiver", &i.receiver, 0, 200, "Получатель");
        c.len("index/objectType", &i.object_type, 1, 10, "Тип объекта");
        let d = &self.data;
        c.len("data/externalId", &d.external_id, 1, 40, "Внешний идентификатор документа");
        match (&d.plan_number, self.kind) {
            (Some(n), _) => c.len("data/planNumber", n, 18, 18, "Реестровый номер плана-графика"),
            (None, PlanPacketKind::Change) => {
                c.add("data/planNumber", "Для изменения плана-графика обязателен реестровый номер плана-графика".into())
            }
            (None, PlanPacketKind::New) => {}
        }
        c.year("data/commonInfo/planYear", d.plan_year, "Год плана");
        c.year("data/commonInfo/planPeriod/firstYear", d.first_year, "Первый год планового периода");
        c.year("data/commonInfo/planPeriod/secondYear", d.second_year, "Второй год планового периода");
        c.org("data/commonInfo/customerInfo", &d.customer_reg_num, &d.customer.org, "Код заказчика по СПЗ");
        c.code_name("data/commonInfo/customerInfo/OKOPF", d.customer.okopf.as_ref(), 5, "singularName", 2000, "ОКОПФ");
        c.code_name("data/commonInfo/customerInfo/OKFS", d.customer.okfs.as_ref(), 2, "name", 2000, "ОКФС");
        c.code_name(
            "data/commonInfo/customerInfo/OKTMOPPO",
            d.customer.oktmo_ppo.as_ref(),
            11,
            "name",
            2000,
            "ОКТМО ППО",
        );
        c.org("data/commonInfo/ownerInfo", &d.owner_reg_num, &d.owner, "Код владельца по СПЗ");
        if let Some(p) = &d.confirm_contact {
            let cp = "data/commonInfo/confirmContactInfo";
            c.len(&format!("{cp}/lastName"), &p.last_name, 1, 50, "Фамилия");
            c.len(&format!("{cp}/firstName"), &p.first_name, 1, 50, "Имя");
            c.opt_len(&format!("{cp}/middleName"), p.middle_name.as_deref(), 1, 50, "Отчество");
            c.len(&format!("{cp}/position"), &p.position, 1, 256, "Должность");
        }
        for (n, p) in d.positions.iter().enumerate() {
            check_position(&mut c, &format!("data/positions/position[{}]", n + 1), p);
        }
        for (n, p) in d.special_positions.iter().enumerate() {
            check_special_position(
                &mut c,
                &format!("data/specialPurchasePositions/specialPurchasePosition[{}]", n + 1),
                p,
            );
        }
        if let Some(o) = &d.outcome {
            let op = "data/outcomeIndicators";
            if let Some(t) = &o.totals {
                c.years(&format!("{op}/totalsInfo"), t);
            }
            c.kbks(&format!("{op}/KBKsTotalsInfo"), "KBKTotalsInfo", "KBKTotalsYearsInfo", &o.kbk_totals);
            c.targets(
                &format!("{op}/targetArticlesTotalsInfo"),
                "targetArticleTotalsInfo",
                "targetArticleTotalsYearsInfo",
                &o.target_article_totals,
            );
            c.kvrs(&format!("{op}/KVRsTotalsInfo"), "KVRTotalsInfo", "KVRTotalsYearsInfo", &o.kvr_totals);
        }
        c.0
    }
}

fn check_position(c: &mut Checker, base: &str, p: &Position) {
    let ci = format!("{base}/commonInfo");
    if let Some(num) = &p.position_number {
        c.len(&format!("{ci}/positionNumber"), num, 24, 24, "Реестровый номер позиции");
    }
    c.len(&format!("{ci}/extNumber"), &p.ext_number, 1, 100, "Внешний номер позиции");
    c.digits(&format!("{ci}/IKZ"), &p.ikz, 36, "ИКЗ");
    c.year(&format!("{ci}/publishYear"), p.publish_year, "Год размещения извещения");
    if let Some(iku) = &p.iku {
        c.digits(&format!("{ci}/IKU"), iku, 20, "ИКУ");
    }
    c.digits(&format!("{ci}/purchaseNumber"), &p.purchase_number, 4, "Номер закупки");
    match &p.okpd2 {
        Okpd2::Single(code) => c.len(&format!("{ci}/OKPD2Info/OKPDCode"), code, 1, 12, "Код ОКПД2"),
        Okpd2::Undefined(codes) => {
            if codes.is_empty() {
                c.add(&format!("{ci}/undefined/OKPD2s"), "Не указан ни один код ОКПД2".into());
            }
            for (k, code) in codes.iter().enumerate() {
                c.len(&format!("{ci}/undefined/OKPD2s/OKPD2Info[{}]/OKPDCode", k + 1), code, 1, 12, "Код ОКПД2");
            }
        }
    }
    if let Some(kvr) = &p.kvr {
        c.len(&format!("{ci}/KVRInfo/KVR/code"), kvr, 3, 3, "Код КВР");
    }
    c.len(&format!("{ci}/purchaseObjectInfo"), &p.purchase_object_info, 1, 2000, "Наименование объекта закупки");
    if let Some(m) = &p.modification {
        c.modification(&format!("{ci}/positionModification"), m, false);
    }
    c.years(&format!("{base}/financeInfo"), &p.finance);
    c.kbks(&format!("{base}/financeInfo/KBKsInfo"), "KBKInfo", "KBKYearsInfo", &p.kbks);
    c.kvrs(&format!("{base}/KVRsInfo"), "KVRInfo", "KVRYearsInfo", &p.kvrs);
    c.targets(&format!("{base}/targetArticlesInfo"), "targetArticleInfo", "targetArticleYearsInfo", &p.target_articles);
}

fn check_special_position(c: &mut Checker, base: &str, p: &SpecialPosition) {
    c.len(&format!("{base}/type/code"), &p.type_code, 1, 10, "Код типа особой закупки");
    c.opt_len(&format!("{base}/type/name"), p.type_name.as_deref(), 1, 2000, "Наименование типа особой закупки");
    if let Some(num) = &p.position_number {
        c.len(&format!("{base}/positionNumber"), num, 24, 24, "Реестровый номер позиции особой закупки");
    }
    c.len(&format!("{base}/extNumber"), &p.ext_number, 1, 100, "Внешний номер позиции особой закупки");
    c.digits(&format!("{base}/IKZ"), &p.ikz, 36, "ИКЗ");
    c.year(&format!("{base}/publishYear"), p.publish_year, "Год размещения извещения");
    if let Some(iku) = &p.iku {
        c.digits(&format!("{base}/IKU"), iku, 20, "ИКУ");
    }
    if let Some(kvr) = &p.kvr {
        c.len(&format!("{base}/KVRInfo/KVR/code"), kvr, 3, 3, "Код КВР");
    }
    c.digits(&format!("{base}/purchaseNumber"), &p.purchase_number, 4, "Номер закупки");
    c.years(&format!("{base}/financeInfo"), &p.finance);
    c.kbks(&format!("{base}/KBKsInfo"), "KBKInfo", "KBKYearsInfo", &p.kbks);
    c.kvrs(&format!("{base}/KVRsInfo"), "KVRInfo", "KVRYearsInfo", &p.kvrs);
    c.targets(&format!("{base}/targetArticlesInfo"), "targetArticleInfo", "targetArticleYearsInfo", &p.target_articles);
    if let Some(m) = &p.modification {
        c.modification(&format!("{base}/specialPurchasePositionModification"), m, true);
    }
}
