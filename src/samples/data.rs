//! Synthetic declarations: plausible Chongqing units, events and items, with rule violations
//! planted on purpose (form-spec §4). Everything is drawn from one seeded RNG, in order, so a
//! seed always gives the same declarations.

use std::collections::{HashMap, HashSet};

use chrono::{Duration, NaiveDate, NaiveDateTime};
use rand::prelude::*;
use rand::rngs::StdRng;

use crate::codes::{complete_credit_code, CREDIT_ALPHABET};
use crate::config::Pipeline;
use crate::model::Severity;

/// A kind of planted violation. `MissingForm` is reported under the `required` rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Deadline,
    Category,
    CreditCode,
    UndertakerLimits,
    HostLocations,
    FinishBy,
    ItemCatalogue,
    EventCatalogue,
    Conditions,
    Required,
    OneAccount,
    Consistency,
    MissingForm,
}

impl Kind {
    pub const ALL: [Kind; 13] = [
        Kind::Deadline,
        Kind::Category,
        Kind::CreditCode,
        Kind::UndertakerLimits,
        Kind::HostLocations,
        Kind::FinishBy,
        Kind::ItemCatalogue,
        Kind::EventCatalogue,
        Kind::Conditions,
        Kind::Required,
        Kind::OneAccount,
        Kind::Consistency,
        Kind::MissingForm,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Deadline => "deadline",
            Kind::Category => "category",
            Kind::CreditCode => "credit-code",
            Kind::UndertakerLimits => "undertaker-limits",
            Kind::HostLocations => "host-locations",
            Kind::FinishBy => "finish-by",
            Kind::ItemCatalogue => "item-catalogue",
            Kind::EventCatalogue => "event-catalogue",
            Kind::Conditions => "conditions",
            Kind::Required => "required",
            Kind::OneAccount => "one-account",
            Kind::Consistency => "consistency",
            Kind::MissingForm => "missing-form",
        }
    }

    /// The rule id (form-spec §4) a checker reports for this kind.
    pub fn rule(self) -> &'static str {
        match self {
            Kind::MissingForm => "required",
            k => k.name(),
        }
    }

    pub fn severity(self, p: &Pipeline) -> Severity {
        let r = &p.rules;
        match self {
            Kind::Deadline => r.deadline.severity,
            Kind::Category => r.category.severity,
            Kind::CreditCode => r.credit_code.severity,
            Kind::UndertakerLimits => r.undertaker_limits.severity,
            Kind::HostLocations => r.host_locations.severity,
            Kind::FinishBy => r.finish_by.severity,
            Kind::ItemCatalogue => r.item_catalogue.severity,
            Kind::EventCatalogue => r.event_catalogue.severity,
            Kind::Conditions => r.conditions.severity,
            Kind::Required => r.required.severity,
            Kind::OneAccount => r.one_account.severity,
            Kind::Consistency => r.consistency.severity,
            Kind::MissingForm => r.required.missing_form_severity,
        }
    }

    fn is_group(self) -> bool {
        matches!(self, Kind::UndertakerLimits | Kind::HostLocations | Kind::OneAccount)
    }
}

#[derive(Debug, Clone)]
pub struct Plant {
    pub kind: Kind,
    pub rule: &'static str,
    pub severity: Severity,
    /// what was planted (English, for the person checking the extractor)
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum SheetVal {
    Text(String),
    Int(i64),
    Date(NaiveDate),
}

/// A spreadsheet value that differs from the form (the `consistency` plant).
#[derive(Debug, Clone)]
pub struct SheetDiff {
    pub field: &'static str,
    pub item: Option<usize>,
    pub sheet: SheetVal,
}

#[derive(Debug, Clone)]
pub struct Item {
    pub occupation: String,
    /// normalised `4-04-05`
    pub occupation_code: String,
    pub undertaker: String,
    pub host_location: String,
    pub start_date: NaiveDate,
    pub end_date: NaiveDate,
    pub participants: i64,
}

/// One declaration with its TRUE values. An empty text field is a field left blank on the
/// form and the sheet (null in truth.json).
#[derive(Debug, Clone)]
pub struct Decl {
    pub id: String,
    pub category: String,
    pub event_name: String,
    pub unit_name: String,
    /// half-width, as it normalises (may carry a wrong check character when planted)
    pub credit_code: String,
    pub unit_type: String,
    pub supervisor: String,
    pub contact_name: String,
    /// digits only; a landline keeps its 023 area code
    pub contact_phone: String,
    pub managers: i64,
    pub experts_judges: i64,
    pub budget_wan: f64,
    pub funding_source: String,
    pub venue: String,
    pub fill_date: NaiveDate,
    pub submitted_at: NaiveDateTime,
    pub account: String,
    pub items: Vec<Item>,
    pub has_form: bool,
    pub sheet_diffs: Vec<SheetDiff>,
    pub planted: Vec<Plant>,
}

impl Decl {
    /// The sheet's value of a header field when the consistency plant changed it.
    pub fn sheet_diff(&self, field: &str, item: Option<usize>) -> Option<&SheetVal> {
        self.sheet_diffs
            .iter()
            .find(|d| d.field == field && d.item == item)
            .map(|d| &d.sheet)
    }
    pub fn worst(&self) -> &'static str {
        match self
            .planted
            .iter()
            .map(|p| p.severity)
            .filter(|s| *s != Severity::Info)
            .max()
        {
            Some(Severity::Return) => "return",
            Some(Severity::Review) => "review",
            _ => "pass",
        }
    }
}

// ------------------------------------------------------------------------------------------
// reference data

/// Chongqing districts and counties with their GB/T 2260 division codes.
pub const DISTRICTS: &[(&str, &str)] = &[
    ("万州区", "500101"),
    ("涪陵区", "500102"),
    ("渝中区", "500103"),
    ("大渡口区", "500104"),
    ("江北区", "500105"),
    ("沙坪坝区", "500106"),
    ("九龙坡区", "500107"),
    ("南岸区", "500108"),
    ("北碚区", "500109"),
    ("綦江区", "500110"),
    ("大足区", "500111"),
    ("渝北区", "500112"),
    ("巴南区", "500113"),
    ("黔江区", "500114"),
    ("长寿区", "500115"),
    ("江津区", "500116"),
    ("合川区", "500117"),
    ("永川区", "500118"),
    ("南川区", "500119"),
    ("璧山区", "500120"),
    ("铜梁区", "500151"),
    ("潼南区", "500152"),
    ("荣昌区", "500153"),
    ("开州区", "500154"),
    ("梁平区", "500155"),
    ("武隆区", "500156"),
    ("城口县", "500229"),
    ("丰都县", "500230"),
    ("垫江县", "500231"),
    ("忠县", "500233"),
    ("云阳县", "500235"),
    ("奉节县", "500236"),
    ("巫山县", "500237"),
    ("巫溪县", "500238"),
    ("石柱土家族自治县", "500240"),
    ("秀山土家族苗族自治县", "500241"),
    ("酉阳土家族苗族自治县", "500242"),
    ("彭水苗族土家族自治县", "500243"),
];

const ZIHAO_A: &[&str] = &[
    "渝", "嘉", "长", "山", "巴", "金", "鑫", "华", "天", "恒", "博", "鸿", "中", "西", "九", "南",
    "朝", "歌", "缙", "龙", "德", "瑞", "宏", "富", "新", "永", "宝", "联", "创", "智", "同", "盛",
    "汇", "安", "兴", "泰", "海", "云", "川", "峡", "建", "立", "卓", "锦", "凯", "顺",
];
const ZIHAO_B: &[&str] = &[
    "丰", "陵", "江", "城", "蜀", "鼎", "源", "宇", "圆", "通", "远", "图", "科", "达", "民", "力",
    "信", "成", "和", "兴", "升", "航", "腾", "茂", "隆", "润", "泽", "辉", "昌", "明", "岭", "峰",
];
const INDUSTRIES: &[&str] = &[
    "机电", "汽车零部件", "精密机械", "电子科技", "智能装备", "建筑工程", "物流", "信息技术",
    "数字科技", "电力工程", "化工", "食品", "茶业", "家政服务", "物业管理", "电梯工程", "环保科技",
    "医药", "建设", "交通建设", "模具", "新能源汽车销售服务", "餐饮管理", "供应链管理", "软件",
    "网络科技", "工业互联网", "测绘", "园林绿化", "检测技术",
];
const ENTERPRISE_SUFFIX: &[(&str, u32)] = &[("有限公司", 50), ("有限责任公司", 30), ("股份有限公司", 20)];
const SCHOOL_TOPICS: &[&str] = &[
    "工业", "电子", "航天", "建筑", "城市管理", "交通", "化工", "机电", "商务", "旅游", "水利电力",
    "能源", "医药", "传媒", "信息", "财经", "工贸", "轻工", "科技", "工程",
];
const ASSOC_TOPICS: &[&str] = &[
    "汽车维修", "电梯", "物流与采购", "家政服务", "茶叶", "花卉", "测绘地理信息", "建筑业", "软件",
    "电子商务", "物业管理", "餐饮", "咖啡", "眼镜", "珠宝玉石首饰", "消防", "快递", "美容美发",
    "养老服务", "机械工程", "焊接", "模具工业", "人工智能", "大数据", "化工", "电力", "蚕桑",
    "城市环境卫生", "园林", "宠物", "殡葬", "工业设计", "网络安全", "无人机",
];
const CITY_DEPTS: &[&str] = &[
    "重庆市经济和信息化委员会",
    "重庆市住房和城乡建设委员会",
    "重庆市农业农村委员会",
    "重庆市交通运输委员会",
    "重庆市商务委员会",
    "重庆市城市管理局",
    "重庆市民政局",
    "重庆市应急管理局",
    "重庆市规划和自然资源局",
    "重庆市邮政管理局",
    "重庆市体育局",
    "重庆市大数据应用发展管理局",
];
const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "高", "林", "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹", "彭", "曾",
    "肖", "田", "董", "袁", "潘", "蒋", "蔡", "余", "杜", "叶", "程", "魏", "苏", "吕", "丁", "任",
    "沈", "姚", "卢", "谭", "廖", "冉", "向", "秦",
];
const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明",
    "超", "秀", "霞", "平", "刚", "英", "华", "玉", "萍", "红", "玲", "飞", "鹏", "宇", "浩", "凯",
    "帆", "婷", "雪", "琳", "晨", "欣", "佳", "渝", "川", "蓉", "江", "波", "斌", "宏", "亮", "建",
    "国", "志", "文", "俊",
];
fn funding(rng: &mut StdRng, kind: UnitKind) -> &'static str {
    let options: &[&str] = match kind {
        UnitKind::DistrictBureau | UnitKind::DistrictCenter | UnitKind::CityDept => {
            &["财政资金", "职业技能提升行动专项资金", "财政资金+社会赞助"]
        }
        UnitKind::Association => &["协会会费及社会赞助", "单位自筹", "会员单位赞助"],
        UnitKind::School => &["学校专项经费", "财政资金+单位自筹", "单位自筹"],
        UnitKind::Enterprise | UnitKind::Individual => &["企业自筹", "单位自筹", "职工教育经费"],
    };
    pick_str(rng, options)
}
const DISTRICT_TOPICS: &[&str] = &[
    "数字技能", "家政服务", "乡村振兴", "电商直播", "餐饮服务", "汽车维修", "建筑行业", "养老护理",
    "制造业", "新就业形态", "农业", "物流", "文旅", "退役军人", "青年",
];
const ORDINALS: &[&str] = &["首届", "第二届", "第三届", "第四届", "第五届", "第六届", "第七届", "第八届"];
const REGIONS: &[&str] = &["渝西地区", "渝东北地区", "渝东南地区", "主城都市区", "成渝地区双城经济圈", "渝东北片区"];
const BAD_EVENT_TOPICS: &[&str] = &[
    "低空经济", "文化旅游", "新能源汽车", "家具制造", "火锅餐饮", "生物医药", "轨道交通", "卫生健康",
    "水利", "林业", "粮食", "气象", "市场监管", "烟草", "金融",
];
const BAD_ITEMS: &[(&str, &str)] = &[
    ("无人机植保员", "5-05-01"),
    ("直播带货员", "4-01-06"),
    ("网约配送员", "4-02-07"),
    ("碳排放管理员", "4-09-07"),
    ("整理收纳师", "4-10-01"),
    ("陪诊师", "4-14-01"),
    ("调饮师", "4-03-02"),
    ("民宿管家", "4-03-01"),
    ("家庭教育指导师", "4-10-01"),
    ("智能网联汽车测试员", "6-22-02"),
];
const BAD_CATEGORIES: &[&str] = &["省级竞赛", "行业赛", "市级竞赛", "国家级竞赛", "职工技能比赛"];

// ------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum UnitKind {
    Enterprise,
    School,
    Association,
    DistrictBureau,
    DistrictCenter,
    CityDept,
    Individual,
}

#[derive(Debug, Clone)]
struct Unit {
    name: String,
    credit_code: String,
    unit_type: String,
    account: String,
    /// index into DISTRICTS, None for municipal-level units
    district: Option<usize>,
    kind: UnitKind,
    contact: Option<(String, String)>,
}

#[derive(Debug, Clone, Default)]
struct Usage {
    events: Vec<String>,
    items: usize,
    reserved: bool,
}

#[derive(Debug, Clone, Default)]
struct Spec {
    /// single-declaration plants with a variant (255 = choose)
    kinds: Vec<(Kind, u8)>,
    /// (group index, member index)
    group: Option<(usize, usize)>,
}

#[derive(Debug, Clone)]
struct Group {
    kind: Kind,
    variant: u8,
    /// shared undertaker / event
    shared: String,
    locations: Vec<String>,
    events: Vec<String>,
    unit: Option<Unit>,
    district: Option<usize>,
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
}

pub(crate) fn weighted<'a, T>(rng: &mut StdRng, items: &'a [(T, u32)]) -> &'a T {
    let total: u32 = items.iter().map(|(_, w)| *w).sum();
    let mut r = rng.random_range(0..total);
    for (t, w) in items {
        if r < *w {
            return t;
        }
        r -= w;
    }
    &items[items.len() - 1].0
}

pub(crate) fn pick_str(rng: &mut StdRng, items: &[&'static str]) -> &'static str {
    items[rng.random_range(0..items.len())]
}

pub(crate) fn pick<'a, T>(rng: &mut StdRng, items: &'a [T]) -> &'a T {
    &items[rng.random_range(0..items.len())]
}

/// Plans which declarations get which plants.
fn plan(count: usize, rng: &mut StdRng) -> (Vec<Spec>, Vec<Group>) {
    let mut specs = vec![Spec::default(); count];
    let mut groups: Vec<Group> = Vec::new();
    let mut add_group = |specs: &mut Vec<Spec>, kind: Kind, variant: u8, members: Vec<usize>| {
        let g = groups.len();
        for (m, &i) in members.iter().enumerate() {
            specs[i].group = Some((g, m));
        }
        groups.push(Group {
            kind,
            variant,
            shared: String::new(),
            locations: Vec::new(),
            events: Vec::new(),
            unit: None,
            district: None,
        });
    };
    let mut start = 0;
    if count >= 20 {
        specs[0].kinds.push((Kind::Deadline, 0));
        specs[1].kinds.push((Kind::Category, 0));
        specs[2].kinds.push((Kind::CreditCode, 0));
        add_group(&mut specs, Kind::UndertakerLimits, 0, vec![3, 4, 5]);
        add_group(&mut specs, Kind::HostLocations, 0, vec![6, 7]);
        specs[8].kinds.push((Kind::FinishBy, 0));
        specs[9].kinds.push((Kind::ItemCatalogue, 0));
        specs[10].kinds.push((Kind::EventCatalogue, 0));
        specs[11].kinds.push((Kind::Conditions, 0));
        specs[12].kinds.push((Kind::Required, 0));
        add_group(&mut specs, Kind::OneAccount, 0, vec![13, 14]);
        specs[15].kinds.push((Kind::Consistency, 0));
        specs[16].kinds.push((Kind::MissingForm, 0));
        specs[17].kinds.push((Kind::CreditCode, 1));
        add_group(&mut specs, Kind::UndertakerLimits, 1, vec![18, 19]);
        start = 20;
    }
    const SECOND: [Kind; 6] = [
        Kind::Deadline,
        Kind::FinishBy,
        Kind::ItemCatalogue,
        Kind::Conditions,
        Kind::Required,
        Kind::Consistency,
    ];
    for i in start..count {
        if specs[i].group.is_some() || !rng.random_bool(0.35) {
            continue;
        }
        let k = *pick(rng, &Kind::ALL);
        if k.is_group() {
            let variant: u8 = if k == Kind::UndertakerLimits { rng.random_range(0..2) } else { 0 };
            let need = if k == Kind::UndertakerLimits && variant == 0 { 3 } else { 2 };
            let mut members = vec![i];
            for (j, sp) in specs.iter().enumerate().take(count.min(i + 12)).skip(i + 1) {
                if members.len() == need {
                    break;
                }
                if sp.group.is_none() && sp.kinds.is_empty() {
                    members.push(j);
                }
            }
            if members.len() == need {
                add_group(&mut specs, k, variant, members);
            } else {
                specs[i].kinds.push((Kind::Conditions, 255));
            }
        } else {
            specs[i].kinds.push((k, 255));
        }
        if rng.random_bool(0.15) {
            let have: Vec<Kind> = specs[i].kinds.iter().map(|(k, _)| *k).collect();
            let second = *pick(rng, &SECOND);
            let clash = have.contains(&second)
                || (second == Kind::Consistency && have.contains(&Kind::MissingForm))
                || (second == Kind::Required && have.contains(&Kind::MissingForm));
            if !clash {
                specs[i].kinds.push((second, 255));
            }
        }
    }
    (specs, groups)
}

pub struct Gen<'a> {
    p: &'a Pipeline,
    names: HashSet<String>,
    events: HashSet<String>,
    event_locs: HashMap<String, Vec<String>>,
    usage: HashMap<String, Usage>,
    pool: Vec<String>,
    accounts: HashSet<String>,
    codes: HashSet<String>,
    reusable: Vec<Unit>,
    fixed_units: HashMap<String, Unit>,
    catalogue: Vec<(String, String)>,
    digital_only: Vec<(String, String)>,
    bad_items: Vec<(String, String)>,
    unit_ordinal: HashMap<String, usize>,
}

impl<'a> Gen<'a> {
    fn new(p: &'a Pipeline) -> Gen<'a> {
        let catalogue: Vec<(String, String)> =
            p.catalogue.items.iter().map(|i| (i.occupation.clone(), i.code.clone())).collect();
        let mut seen = HashSet::new();
        let mut digital_only = Vec::new();
        for d in &p.catalogue.digital_items {
            if p.catalogue_item(d).is_some() || !seen.insert(d.clone()) {
                continue;
            }
            let code = if d.contains("电商") || d.contains("选品") {
                "4-01-06"
            } else if d.contains("物流") {
                "4-02-06"
            } else if d.contains("5G") || d.contains("基站") || d.contains("网络系统") {
                "4-04-01"
            } else {
                "4-04-05"
            };
            digital_only.push((d.clone(), code.to_string()));
        }
        let bad_items = BAD_ITEMS
            .iter()
            .filter(|(o, _)| p.catalogue_item(o).is_none() && !p.is_digital_item(o))
            .map(|(o, c)| (o.to_string(), c.to_string()))
            .collect();
        Gen {
            p,
            names: HashSet::new(),
            events: HashSet::new(),
            event_locs: HashMap::new(),
            usage: HashMap::new(),
            pool: Vec::new(),
            accounts: HashSet::new(),
            codes: HashSet::new(),
            reusable: Vec::new(),
            fixed_units: HashMap::new(),
            catalogue,
            digital_only,
            bad_items,
            unit_ordinal: HashMap::new(),
        }
    }

    // ---- names ------------------------------------------------------------------------------

    fn zihao(&self, rng: &mut StdRng) -> String {
        format!("{}{}", pick(rng, ZIHAO_A), pick(rng, ZIHAO_B))
    }

    fn fresh_name(&mut self, rng: &mut StdRng, make: impl Fn(&Self, &mut StdRng) -> String) -> String {
        for _ in 0..200 {
            let n = make(self, rng);
            if n.chars().count() <= 24 && !self.names.contains(&n) {
                self.names.insert(n.clone());
                return n;
            }
        }
        // practically unreachable: add a disambiguating 字号 character
        loop {
            let n = format!("{}{}", make(self, rng), pick(rng, ZIHAO_B));
            if !self.names.contains(&n) {
                self.names.insert(n.clone());
                return n;
            }
        }
    }

    fn enterprise_name(&self, rng: &mut StdRng) -> String {
        let prefix = if rng.random_bool(0.2) { "重庆市" } else { "重庆" };
        format!(
            "{prefix}{}{}{}",
            self.zihao(rng),
            pick(rng, INDUSTRIES),
            weighted(rng, ENTERPRISE_SUFFIX)
        )
    }

    fn school_name(&self, rng: &mut StdRng) -> (String, bool) {
        match rng.random_range(0..10) {
            0..=3 => (format!("重庆{}职业学院", self.zihao(rng)), true),
            4..=5 => (format!("重庆{}职业技术学院", pick(rng, SCHOOL_TOPICS)), false),
            6 => (format!("重庆市{}高级技工学校", pick(rng, SCHOOL_TOPICS)), false),
            7 => (format!("重庆{}技师学院", pick(rng, SCHOOL_TOPICS)), false),
            8 => {
                let d = pick(rng, DISTRICTS).0;
                (format!("重庆市{d}职业教育中心"), false)
            }
            _ => (format!("重庆{}{}职业技术学院", self.zihao(rng), pick(rng, SCHOOL_TOPICS)), true),
        }
    }

    fn person(&self, rng: &mut StdRng) -> String {
        let mut s = pick(rng, SURNAMES).to_string();
        s.push_str(pick_str(rng, GIVEN));
        if rng.random_bool(0.6) {
            s.push_str(pick_str(rng, GIVEN));
        }
        s
    }

    fn phone(&self, rng: &mut StdRng) -> String {
        if rng.random_bool(0.6) {
            let second = pick(rng, &["3", "5", "7", "8", "9"]).to_string();
            let mut s = format!("1{second}");
            for _ in 0..9 {
                s.push(char::from(b'0' + rng.random_range(0..10u8)));
            }
            s
        } else {
            let mut s = format!("023{}", pick(rng, &["6", "8"]));
            for _ in 0..7 {
                s.push(char::from(b'0' + rng.random_range(0..10u8)));
            }
            s
        }
    }

    fn body(&self, rng: &mut StdRng, prefix: &str) -> String {
        let alphabet: Vec<char> = CREDIT_ALPHABET.chars().collect();
        let mut s = prefix.to_string();
        while s.chars().count() < 8 {
            if prefix.is_empty() {
                s.push(char::from(b'0' + rng.random_range(0..10u8)));
            } else {
                s.push(alphabet[rng.random_range(0..alphabet.len())]);
            }
        }
        s
    }

    fn credit_code(&mut self, rng: &mut StdRng, kind: &str, division: &str) -> String {
        loop {
            let body = match kind {
                "91" | "92" => {
                    if rng.random_bool(0.75) {
                        self.body(rng, "MA")
                    } else {
                        self.body(rng, "")
                    }
                }
                "51" | "52" => self.body(rng, "MJ"),
                "11" => {
                    if rng.random_bool(0.5) {
                        self.body(rng, "MB")
                    } else {
                        self.body(rng, "")
                    }
                }
                _ => self.body(rng, ""),
            };
            let code = complete_credit_code(&format!("{kind}{division}{body}")).expect("16 valid characters");
            if self.codes.insert(code.clone()) {
                return code;
            }
        }
    }

    fn account(&mut self, rng: &mut StdRng, code: &str) -> String {
        loop {
            let a = match rng.random_range(0..20) {
                0..=11 => {
                    let mut s = String::from(*pick(rng, &["cq_", "cq_", "CQ", "cqjs_", ""]));
                    let n = rng.random_range(4..8);
                    for _ in 0..n {
                        s.push(char::from(b'a' + rng.random_range(0..26u8)));
                    }
                    for _ in 0..rng.random_range(0..4) {
                        s.push(char::from(b'0' + rng.random_range(0..10u8)));
                    }
                    s
                }
                12..=16 => {
                    let p = self.phone(rng);
                    if p.starts_with('1') {
                        p
                    } else {
                        format!("1{}", &p[2..])
                    }
                }
                _ => code.to_string(),
            };
            if self.accounts.insert(a.clone()) {
                return a;
            }
        }
    }

    // ---- units -------------------------------------------------------------------------------

    fn division(d: Option<usize>) -> &'static str {
        d.map(|i| DISTRICTS[i].1).unwrap_or("500000")
    }

    fn new_unit(&mut self, rng: &mut StdRng, kind: UnitKind, district: Option<usize>) -> Unit {
        let district = district.or_else(|| Some(rng.random_range(0..DISTRICTS.len())));
        let (name, code_kind, unit_type, district) = match kind {
            UnitKind::Enterprise => {
                let n = self.fresh_name(rng, |g, r| g.enterprise_name(r));
                (n, "91", "企业", district)
            }
            UnitKind::School => {
                let mut private = false;
                let n = self.fresh_name(rng, |g, r| g.school_name(r).0);
                if n.starts_with("重庆") && n.ends_with("职业学院") && !n.contains("技术") {
                    private = true;
                }
                let d = if n.contains("职业教育中心") {
                    DISTRICTS.iter().position(|(dn, _)| n.contains(dn))
                } else {
                    district
                };
                (n, if private { "52" } else { "12" }, "职业院校", d)
            }
            UnitKind::Association => {
                let local = rng.random_bool(0.3);
                let suffix = *pick(rng, &["行业协会", "协会", "学会", "行业协会"]);
                if local {
                    let d = district.unwrap();
                    let dn = DISTRICTS[d].0;
                    let n = self.fresh_name(rng, |_, r| format!("重庆市{dn}{}{suffix}", pick(r, ASSOC_TOPICS)));
                    (n, "51", "行业协会（学会）", Some(d))
                } else {
                    let n = self.fresh_name(rng, |_, r| format!("重庆市{}{suffix}", pick(r, ASSOC_TOPICS)));
                    (n, "51", "行业协会（学会）", None)
                }
            }
            UnitKind::Individual => {
                let d = district.unwrap();
                let dn = DISTRICTS[d].0;
                let n = self.fresh_name(rng, |g, r| {
                    format!(
                        "重庆市{dn}{}{}",
                        g.zihao(r),
                        pick(r, &["汽车维修部", "美发店", "家政服务部", "餐馆", "茶艺馆", "五金经营部"])
                    )
                });
                (n, "92", if rng.random_bool(0.5) { "其他" } else { "企业" }, Some(d))
            }
            UnitKind::DistrictBureau | UnitKind::DistrictCenter | UnitKind::CityDept => {
                unreachable!("fixed units come from fixed_unit")
            }
        };
        let credit_code = self.credit_code(rng, code_kind, Self::division(district));
        let account = self.account(rng, &credit_code);
        Unit { name, credit_code, unit_type: unit_type.to_string(), account, district, kind, contact: None }
    }

    /// District bureaus, district centres and city departments exist once and are reused.
    fn fixed_unit(&mut self, rng: &mut StdRng, kind: UnitKind, district: Option<usize>) -> Unit {
        let name = match kind {
            UnitKind::DistrictBureau => {
                let dn = DISTRICTS[district.unwrap()].0;
                if dn.ends_with('县') {
                    format!("{dn}人力资源和社会保障局")
                } else {
                    format!("重庆市{dn}人力资源和社会保障局")
                }
            }
            UnitKind::DistrictCenter => {
                let dn = DISTRICTS[district.unwrap()].0;
                format!("重庆市{dn}就业和人才服务中心")
            }
            _ => pick(rng, CITY_DEPTS).to_string(),
        };
        if let Some(u) = self.fixed_units.get(&name) {
            return u.clone();
        }
        self.names.insert(name.clone());
        let (code_kind, unit_type) = match kind {
            UnitKind::DistrictBureau => ("11", "区县"),
            UnitKind::DistrictCenter => ("12", "区县"),
            _ => ("11", "市级部门"),
        };
        let credit_code = self.credit_code(rng, code_kind, Self::division(district));
        let account = self.account(rng, &credit_code);
        let u = Unit { name: name.clone(), credit_code, unit_type: unit_type.into(), account, district, kind, contact: None };
        self.fixed_units.insert(name, u.clone());
        u
    }

    fn unit_for(&mut self, rng: &mut StdRng, category: &str, fresh: bool) -> Unit {
        let kind = match category {
            "市级行业赛" => *weighted(
                rng,
                &[(UnitKind::Association, 45), (UnitKind::Enterprise, 25), (UnitKind::School, 20), (UnitKind::CityDept, 10)],
            ),
            "区县级竞赛" => *weighted(
                rng,
                &[
                    (UnitKind::DistrictBureau, 55),
                    (UnitKind::DistrictCenter, 15),
                    (UnitKind::Association, 10),
                    (UnitKind::Enterprise, 10),
                    (UnitKind::School, 10),
                ],
            ),
            _ => *weighted(rng, &[(UnitKind::Enterprise, 65), (UnitKind::School, 35)]),
        };
        let fixed = matches!(kind, UnitKind::DistrictBureau | UnitKind::DistrictCenter | UnitKind::CityDept);
        if fresh {
            let kind = if fixed { UnitKind::Enterprise } else { kind };
            return self.new_unit(rng, kind, None);
        }
        if fixed {
            let d = if kind == UnitKind::CityDept { None } else { Some(rng.random_range(0..DISTRICTS.len())) };
            return self.fixed_unit(rng, kind, d);
        }
        if rng.random_bool(0.04) {
            let candidates: Vec<usize> =
                (0..self.reusable.len()).filter(|&i| self.reusable[i].kind == kind).collect();
            if !candidates.is_empty() {
                return self.reusable[*pick(rng, &candidates)].clone();
            }
        }
        let u = self.new_unit(rng, kind, None);
        self.reusable.push(u.clone());
        u
    }

    fn remember_contact(&mut self, unit: &Unit, contact: &(String, String)) {
        if let Some(u) = self.fixed_units.get_mut(&unit.name) {
            u.contact.get_or_insert_with(|| contact.clone());
        }
        if let Some(u) = self.reusable.iter_mut().find(|u| u.name == unit.name) {
            u.contact.get_or_insert_with(|| contact.clone());
        }
    }

    fn supervisor(&self, rng: &mut StdRng, unit: &Unit, category: &str) -> String {
        let district_bureau = |d: usize| {
            let dn = DISTRICTS[d].0;
            format!("{dn}人力资源和社会保障局")
        };
        match (category, unit.kind) {
            (_, UnitKind::DistrictBureau) | (_, UnitKind::CityDept) => "重庆市人力资源和社会保障局".into(),
            (_, UnitKind::DistrictCenter) => district_bureau(unit.district.unwrap()),
            ("市级行业赛", _) => {
                if rng.random_bool(0.3) {
                    "重庆市人力资源和社会保障局".into()
                } else {
                    pick(rng, CITY_DEPTS).to_string()
                }
            }
            (_, UnitKind::School) if rng.random_bool(0.3) => "重庆市教育委员会".into(),
            _ => match unit.district {
                Some(d) => district_bureau(d),
                None => "重庆市人力资源和社会保障局".into(),
            },
        }
    }

    // ---- events ------------------------------------------------------------------------------

    fn fresh_event(&mut self, rng: &mut StdRng, make: impl Fn(&mut StdRng, usize) -> String) -> String {
        for attempt in 0..400 {
            let e = make(rng, attempt);
            if !self.events.contains(&e) && !self.p.is_catalogue_event(&e) {
                self.events.insert(e.clone());
                return e;
            }
        }
        let mut n = 2;
        loop {
            let e = format!("{}（第{n}场）", make(rng, 0));
            if self.events.insert(e.clone()) {
                return e;
            }
            n += 1;
        }
    }

    /// `重庆鑫源机电有限公司` → `鑫源机电公司`; schools and public bodies keep their full name.
    fn short_name(unit: &Unit) -> String {
        if unit.kind != UnitKind::Enterprise && unit.kind != UnitKind::Individual {
            return unit.name.clone();
        }
        let mut s = unit.name.clone();
        for p in ["重庆市", "重庆"] {
            if let Some(rest) = s.strip_prefix(p) {
                s = rest.to_string();
                break;
            }
        }
        for suf in ["股份有限公司", "有限责任公司", "有限公司"] {
            if let Some(rest) = s.strip_suffix(suf) {
                return format!("{rest}公司");
            }
        }
        s
    }

    fn event_for(&mut self, rng: &mut StdRng, category: &str, unit: &Unit, avoid: &[String]) -> String {
        match category {
            "市级行业赛" => {
                let events = self.p.catalogue.events.clone();
                for _ in 0..100 {
                    let e = pick(rng, &events).clone();
                    if !avoid.contains(&e) {
                        self.events.insert(e.clone());
                        return e;
                    }
                }
                self.bad_event(rng)
            }
            "区县级竞赛" => {
                let dn = DISTRICTS[unit.district.unwrap_or(0)].0;
                self.fresh_event(rng, |r, _| match r.random_range(0..4) {
                    0 => format!("{dn}{}职业技能大赛", pick(r, ORDINALS)),
                    1 => format!("2024年{dn}“巴渝工匠”杯{}职业技能竞赛", pick(r, DISTRICT_TOPICS)),
                    2 => format!("{dn}{}{}技能大赛", pick(r, ORDINALS), pick(r, DISTRICT_TOPICS)),
                    _ => format!("{dn}2024年{}职业技能竞赛", pick(r, DISTRICT_TOPICS)),
                })
            }
            _ => {
                let short = Self::short_name(unit);
                let school = unit.kind == UnitKind::School;
                let n = {
                    let c = self.unit_ordinal.entry(unit.name.clone()).or_insert(0);
                    *c += 1;
                    *c
                };
                self.fresh_event(rng, |r, attempt| {
                    let k = (r.random_range(0..4) + n + attempt) % 4;
                    match (school, k) {
                        (false, 0) => format!("{short}2024年技能练兵比武"),
                        (false, 1) => format!("{short}{}职工技能运动会", pick(r, ORDINALS)),
                        (false, 2) => format!("{short}2024年“{}”岗位技能比武", pick(r, &["匠心", "工匠", "技能强企", "安全生产"])),
                        (false, _) => format!("{short}{}职业技能竞赛", pick(r, ORDINALS)),
                        (true, 0) => format!("{short}2024年学生技能竞赛"),
                        (true, 1) => format!("{short}{}技能节", pick(r, ORDINALS)),
                        (true, 2) => format!("{short}2024年师生技能比武"),
                        (true, _) => format!("{short}{}职业技能大赛", pick(r, ORDINALS)),
                    }
                })
            }
        }
    }

    fn bad_event(&mut self, rng: &mut StdRng) -> String {
        self.fresh_event(rng, |r, _| {
            format!("重庆市{}{}行业职业技能竞赛", pick(r, ORDINALS), pick(r, BAD_EVENT_TOPICS))
        })
    }

    // ---- items -------------------------------------------------------------------------------

    fn can_use(&self, name: &str, event: &str) -> bool {
        let max_items = self.p.rules.undertaker_limits.max_items;
        let max_events = self.p.rules.undertaker_limits.max_events;
        match self.usage.get(name) {
            None => true,
            Some(u) => {
                !u.reserved
                    && u.items < max_items
                    && (u.events.iter().any(|e| e == event) || u.events.len() < max_events)
            }
        }
    }

    fn use_undertaker(&mut self, name: &str, event: &str) {
        if !self.usage.contains_key(name) {
            self.pool.push(name.to_string());
        }
        let u = self.usage.entry(name.to_string()).or_default();
        u.items += 1;
        if !u.events.iter().any(|e| e == event) {
            u.events.push(event.to_string());
        }
    }

    fn fresh_undertaker(&mut self, rng: &mut StdRng) -> String {
        self.fresh_name(rng, |g, r| match r.random_range(0..20) {
            0..=9 => g.enterprise_name(r),
            10..=16 => g.school_name(r).0,
            _ => format!("重庆{}职业培训学校有限公司", g.zihao(r)),
        })
    }

    fn undertaker(&mut self, rng: &mut StdRng, unit: &Unit, category: &str, event: &str) -> String {
        let own_ok = !matches!(unit.kind, UnitKind::CityDept | UnitKind::DistrictBureau);
        let p_own = match category {
            "市级行业赛" | "区县级竞赛" => 0.45,
            _ => 0.92,
        };
        if own_ok && rng.random_bool(p_own) && self.can_use(&unit.name, event) {
            return unit.name.clone();
        }
        if rng.random_bool(0.3) && !self.pool.is_empty() {
            for _ in 0..6 {
                let c = pick(rng, &self.pool).clone();
                if c != unit.name && self.can_use(&c, event) {
                    return c;
                }
            }
        }
        self.fresh_undertaker(rng)
    }

    fn location(&mut self, rng: &mut StdRng, event: &str, prefer: Option<&str>) -> String {
        let max = self.p.rules.host_locations.max_locations;
        let locations = self.p.lists.locations.clone();
        let locs = self.event_locs.entry(event.to_string()).or_default();
        if locs.len() < max && (locs.is_empty() || rng.random_bool(0.2)) {
            let new = match prefer {
                Some(p) if !locs.iter().any(|l| l == p) && locations.iter().any(|l| l == p) => p.to_string(),
                _ => loop {
                    let l = pick(rng, &locations).clone();
                    if !locs.contains(&l) {
                        break l;
                    }
                },
            };
            locs.push(new.clone());
            new
        } else {
            pick(rng, locs).clone()
        }
    }

    fn occupations(&self, rng: &mut StdRng, n: usize) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        while out.len() < n {
            let o = if rng.random_bool(0.12) && !self.digital_only.is_empty() {
                pick(rng, &self.digital_only).clone()
            } else {
                pick(rng, &self.catalogue).clone()
            };
            if !out.iter().any(|(x, _)| *x == o.0) {
                out.push(o);
            }
        }
        out
    }
}

fn random_date(rng: &mut StdRng, from: NaiveDate, to: NaiveDate) -> NaiveDate {
    let days = (to - from).num_days();
    from + Duration::days(rng.random_range(0..=days))
}

fn time_of_day(rng: &mut StdRng, d: NaiveDate, hours: std::ops::RangeInclusive<u32>) -> NaiveDateTime {
    d.and_hms_opt(rng.random_range(hours), rng.random_range(0..60), rng.random_range(0..60))
        .expect("valid time")
}

/// Generates `count` declarations with their plants.
pub fn build(p: &Pipeline, count: usize, rng: &mut StdRng) -> Vec<Decl> {
    let (specs, mut groups) = plan(count, rng);
    let mut g = Gen::new(p);
    let mut out = Vec::with_capacity(count);
    for (i, spec) in specs.iter().enumerate() {
        let d = gen_decl(&mut g, rng, i, spec, &mut groups);
        out.push(d);
    }
    out
}

fn gen_decl(g: &mut Gen, rng: &mut StdRng, idx: usize, spec: &Spec, groups: &mut [Group]) -> Decl {
    let p = g.p;
    let kinds: Vec<Kind> = spec.kinds.iter().map(|(k, _)| *k).collect();
    let variant_of = |k: Kind| spec.kinds.iter().find(|(x, _)| *x == k).map(|(_, v)| *v);
    let group = spec.group.map(|(gi, m)| (gi, m, groups[gi].kind, groups[gi].variant));
    let in_one_account = matches!(group, Some((_, _, Kind::OneAccount, _)));
    let in_host_group = matches!(group, Some((_, _, Kind::HostLocations, _)));
    let mut plants: Vec<Plant> = Vec::new();
    let mut plant = |k: Kind, detail: String| {
        plants.push(Plant { kind: k, rule: k.rule(), severity: k.severity(p), detail });
    };

    // credit-code variant: 0 wrong check character, 1 a `92` code under 市级行业赛
    let cc_variant = variant_of(Kind::CreditCode).map(|v| match v {
        255 => {
            if !in_one_account && !in_host_group && !kinds.contains(&Kind::Category) && rng.random_bool(0.4) {
                1
            } else {
                0
            }
        }
        v => v,
    });

    // ---- category
    let categories = p.lists.categories.clone();
    let base_category: String = if in_host_group {
        "区县级竞赛".into()
    } else if cc_variant == Some(1) || kinds.contains(&Kind::EventCatalogue) {
        "市级行业赛".into()
    } else {
        let w = [(0usize, 35u32), (1, 30), (2, 35)];
        let i = *weighted(rng, &w);
        categories.get(i).cloned().unwrap_or_else(|| categories[0].clone())
    };

    // ---- unit
    let mut unit = match group {
        Some((gi, m, Kind::OneAccount, _)) => {
            if m == 0 {
                let kind = if base_category == "企业和院校技能练兵比武" || rng.random_bool(0.5) {
                    UnitKind::Enterprise
                } else {
                    UnitKind::Association
                };
                let u = g.new_unit(rng, kind, None);
                groups[gi].unit = Some(u.clone());
                u
            } else {
                let mut u = groups[gi].unit.clone().expect("first member made the unit");
                u.account = g.account(rng, &u.credit_code);
                u
            }
        }
        Some((gi, m, Kind::HostLocations, _)) => {
            let d = loop {
                let d = rng.random_range(0..DISTRICTS.len());
                if m == 0 || Some(d) != groups[gi].district {
                    break d;
                }
            };
            if m == 0 {
                groups[gi].district = Some(d);
            }
            g.fixed_unit(rng, UnitKind::DistrictBureau, Some(d))
        }
        _ => {
            if cc_variant == Some(1) {
                g.new_unit(rng, UnitKind::Individual, None)
            } else {
                g.unit_for(rng, &base_category, cc_variant == Some(0))
            }
        }
    };
    if cc_variant == Some(0) {
        let good = unit.credit_code.clone();
        let last = good.chars().last().unwrap();
        let alphabet: Vec<char> = CREDIT_ALPHABET.chars().collect();
        let wrong = loop {
            let c = alphabet[rng.random_range(0..alphabet.len())];
            if c != last {
                break c;
            }
        };
        unit.credit_code = format!("{}{wrong}", &good[..17]);
        plant(Kind::CreditCode, format!("check character {wrong} instead of {last} in {}", unit.credit_code));
    } else if cc_variant == Some(1) {
        plant(
            Kind::CreditCode,
            format!("市级行业赛 declared by 个体工商户 (code {} starts with 92)", unit.credit_code),
        );
    }

    // ---- event
    let event = match group {
        Some((gi, m, Kind::HostLocations, _)) => {
            if m == 0 {
                let e = g.fresh_event(rng, |r, _| {
                    format!("2024年{}{}职业技能联赛", pick(r, REGIONS), pick(r, DISTRICT_TOPICS))
                });
                groups[gi].shared = e.clone();
                let mut locs: Vec<String> = Vec::new();
                while locs.len() < 4 {
                    let l = pick(rng, &p.lists.locations).clone();
                    if !locs.contains(&l) {
                        locs.push(l);
                    }
                }
                groups[gi].locations = locs;
                e
            } else {
                groups[gi].shared.clone()
            }
        }
        Some((gi, _, Kind::UndertakerLimits, variant)) => {
            let avoid = if variant == 0 { groups[gi].events.clone() } else { Vec::new() };
            let e = g.event_for(rng, &base_category, &unit, &avoid);
            groups[gi].events.push(e.clone());
            e
        }
        _ => {
            if kinds.contains(&Kind::EventCatalogue) {
                let e = g.bad_event(rng);
                plant(Kind::EventCatalogue, format!("市级行业赛 event `{e}` is not in Annex 1"));
                e
            } else {
                g.event_for(rng, &base_category, &unit, &[])
            }
        }
    };

    // ---- items
    let mut n_items = *weighted(rng, &[(1usize, 30u32), (2, 25), (3, 20), (4, 12), (5, 8), (6, 5)]);
    match group {
        Some((_, _, Kind::UndertakerLimits, 1)) => n_items = n_items.max(3),
        Some((_, _, Kind::HostLocations, _)) => n_items = n_items.max(2),
        _ => {}
    }
    if kinds.contains(&Kind::ItemCatalogue) {
        n_items = n_items.max(1);
    }
    let occupations = g.occupations(rng, n_items);
    let base_start = random_date(rng, date(2024, 3, 1), date(2024, 10, 25));
    let base_len = rng.random_range(0..=14);
    let end_cap = date(2024, 11, 10);
    let same_dates = rng.random_bool(0.5);
    let prefer_loc: Option<String> = unit.district.map(|d| DISTRICTS[d].0.to_string());
    let mut items = Vec::with_capacity(n_items);
    // group undertaker
    let shared_undertaker: Option<(String, usize)> = match group {
        Some((gi, m, Kind::UndertakerLimits, variant)) => {
            if m == 0 {
                let u = g.fresh_undertaker(rng);
                g.usage.insert(u.clone(), Usage { reserved: true, ..Usage::default() });
                groups[gi].shared = u;
            }
            Some((groups[gi].shared.clone(), if variant == 0 { 1 } else { 3 }))
        }
        _ => None,
    };
    for (k, (occupation, code)) in occupations.into_iter().enumerate() {
        let (start, end) = if same_dates || k == 0 {
            (base_start, (base_start + Duration::days(base_len)).min(end_cap))
        } else {
            let s = random_date(rng, date(2024, 3, 1), date(2024, 10, 25));
            (s, (s + Duration::days(rng.random_range(0..=14))).min(end_cap))
        };
        let undertaker = match &shared_undertaker {
            Some((u, n)) if k < *n => {
                let e = g.usage.get_mut(u).unwrap();
                e.items += 1;
                if !e.events.contains(&event) {
                    e.events.push(event.clone());
                }
                u.clone()
            }
            _ => {
                let u = g.undertaker(rng, &unit, &base_category, &event);
                g.use_undertaker(&u, &event);
                u
            }
        };
        let host_location = match group {
            Some((gi, m, Kind::HostLocations, _)) => groups[gi].locations[2 * m + (k % 2)].clone(),
            _ => {
                let prefer = if base_category == "市级行业赛" && rng.random_bool(0.5) { None } else { prefer_loc.as_deref() };
                g.location(rng, &event, prefer)
            }
        };
        items.push(Item {
            occupation,
            occupation_code: code,
            undertaker,
            host_location,
            start_date: start,
            end_date: end,
            participants: rng.random_range(20..=300),
        });
    }
    match group {
        Some((gi, _, Kind::UndertakerLimits, variant)) => {
            let u = &groups[gi].shared;
            let detail = if variant == 0 {
                format!("undertaker `{u}` serves 3 different events")
            } else {
                format!("undertaker `{u}` serves 6 items in total")
            };
            plant(Kind::UndertakerLimits, detail);
        }
        Some((gi, _, Kind::HostLocations, _)) => {
            let detail = format!("event `{}` has 4 host locations: {}", groups[gi].shared, groups[gi].locations.join("、"));
            plant(Kind::HostLocations, detail);
        }
        Some((_, _, Kind::OneAccount, _)) => {
            plant(Kind::OneAccount, format!("unit `{}` declares with a second account", unit.name));
        }
        _ => {}
    }

    // ---- contact, conditions, times
    let contact = match &unit.contact {
        Some(c) if rng.random_bool(0.7) => c.clone(),
        _ => (g.person(rng), g.phone(rng)),
    };
    g.remember_contact(&unit, &contact);
    let supervisor = g.supervisor(rng, &unit, &base_category);
    let budget = {
        let b = rng.random_range(20..=800) as f64 / 10.0;
        if rng.random_bool(0.5) {
            b.round().max(2.0)
        } else {
            b
        }
    };
    let short = Gen::short_name(&unit);
    let public_body = matches!(unit.kind, UnitKind::DistrictBureau | UnitKind::DistrictCenter | UnitKind::CityDept);
    let venue = match rng.random_range(0..6) {
        0 | 2 if public_body => format!("{}公共实训基地", prefer_loc.clone().unwrap_or_else(|| "重庆市".into())),
        0 => format!("{short}实训基地"),
        1 => format!("{}公共实训基地", prefer_loc.clone().unwrap_or_else(|| "重庆市".into())),
        2 => format!("{short}技能实训中心"),
        3 => "重庆国际博览中心".to_string(),
        4 => format!("{}职业技能鉴定所", prefer_loc.clone().unwrap_or_else(|| "重庆市".into())),
        _ => "重庆市公共实训基地".to_string(),
    };
    let submitted_day = random_date(rng, date(2024, 1, 10), date(2024, 2, 5));
    let submitted_at = if submitted_day == date(2024, 2, 5) {
        time_of_day(rng, submitted_day, 8..=17)
    } else {
        time_of_day(rng, submitted_day, 8..=22)
    };
    let fill_date = (submitted_day - Duration::days(rng.random_range(0..=6))).max(date(2024, 1, 8));

    let mut d = Decl {
        id: format!("BY2024-{:04}", idx + 1),
        category: base_category.clone(),
        event_name: event,
        unit_name: unit.name.clone(),
        credit_code: unit.credit_code.clone(),
        unit_type: unit.unit_type.clone(),
        supervisor,
        contact_name: contact.0,
        contact_phone: contact.1,
        managers: rng.random_range(3..=30),
        experts_judges: rng.random_range(5..=40),
        budget_wan: budget,
        funding_source: funding(rng, unit.kind).to_string(),
        venue,
        fill_date,
        submitted_at,
        account: unit.account.clone(),
        items,
        has_form: true,
        sheet_diffs: Vec::new(),
        planted: Vec::new(),
    };

    // ---- single-declaration plants
    let mut required_field: Option<&'static str> = None;
    let mut finish_item: Option<usize> = None;
    for k in &kinds {
        match k {
            Kind::Deadline => {
                let t = if rng.random_bool(0.5) {
                    date(2024, 2, 5).and_hms_opt(18, 0, 0).unwrap() + Duration::seconds(rng.random_range(60..7200))
                } else {
                    let day = random_date(rng, date(2024, 2, 6), date(2024, 2, 9));
                    time_of_day(rng, day, 8..=20)
                };
                d.submitted_at = t;
                plant(Kind::Deadline, format!("submitted at {}", t.format("%Y-%m-%d %H:%M:%S")));
            }
            Kind::Category => {
                d.category = pick(rng, BAD_CATEGORIES).to_string();
                plant(Kind::Category, format!("category `{}` is not one of the three", d.category));
            }
            Kind::FinishBy => {
                let i = rng.random_range(0..d.items.len());
                let end = random_date(rng, date(2024, 11, 16), date(2024, 12, 20));
                d.items[i].end_date = end;
                if d.items[i].start_date > end {
                    d.items[i].start_date = end - Duration::days(3);
                }
                finish_item = Some(i);
                plant(Kind::FinishBy, format!("item {} ends {end}", i + 1));
            }
            Kind::ItemCatalogue => {
                let i = rng.random_range(0..d.items.len());
                let (o, c) = pick(rng, &g.bad_items).clone();
                if !d.items.iter().any(|it| it.occupation == o) {
                    d.items[i].occupation = o.clone();
                    d.items[i].occupation_code = c;
                }
                plant(Kind::ItemCatalogue, format!("item {} `{}` is in neither annex", i + 1, d.items[i].occupation));
            }
            Kind::Conditions => {
                let what = match rng.random_range(0..4) {
                    0 => {
                        d.managers = 0;
                        "managers 0"
                    }
                    1 => {
                        d.experts_judges = 0;
                        "experts_judges 0"
                    }
                    2 => {
                        d.budget_wan = 0.0;
                        "budget 0"
                    }
                    _ => {
                        d.venue = String::new();
                        "venue empty"
                    }
                };
                plant(Kind::Conditions, what.to_string());
            }
            Kind::Required => {
                let what = match rng.random_range(0..5) {
                    0 | 1 => {
                        // one digit short: a 10-digit mobile or a 7-digit landline after 023
                        let bad = d.contact_phone[..10].to_string();
                        d.contact_phone = bad.clone();
                        required_field = Some("contact_phone");
                        format!("contact_phone malformed `{bad}`")
                    }
                    2 => {
                        d.contact_name = String::new();
                        required_field = Some("contact_name");
                        "contact_name missing".to_string()
                    }
                    3 => {
                        d.supervisor = String::new();
                        required_field = Some("supervisor");
                        "supervisor missing".to_string()
                    }
                    _ => {
                        d.unit_type = String::new();
                        required_field = Some("unit_type");
                        "unit_type missing".to_string()
                    }
                };
                plant(Kind::Required, what);
            }
            Kind::MissingForm => {
                d.has_form = false;
                plant(Kind::MissingForm, "no form PDF for a declaration in the sheet".to_string());
            }
            _ => {}
        }
    }
    if kinds.contains(&Kind::Consistency) {
        let mut options: Vec<&str> = vec!["participants", "end_date"];
        if required_field.is_none() {
            options.push("contact_phone");
        }
        if !in_one_account {
            options.push("unit_name");
        }
        let field = *pick(rng, &options);
        let diff = match field {
            "participants" => {
                let i = rng.random_range(0..d.items.len());
                let orig = d.items[i].participants;
                let delta = rng.random_range(5..=40) * if rng.random_bool(0.5) { 1 } else { -1 };
                let mut v = orig + delta;
                if v < 20 {
                    v = orig + delta.abs();
                }
                SheetDiff { field: "participants", item: Some(i), sheet: SheetVal::Int(v) }
            }
            "end_date" => {
                let candidates: Vec<usize> = (0..d.items.len()).filter(|i| Some(*i) != finish_item).collect();
                let i = if candidates.is_empty() { 0 } else { *pick(rng, &candidates) };
                let it = &d.items[i];
                let mut v = it.end_date + Duration::days(rng.random_range(1..=5));
                if v > end_cap {
                    v = it.end_date - Duration::days(rng.random_range(1..=5));
                }
                if v < it.start_date {
                    // a one-day item at the cap: move the sheet date later but still before the cap
                    v = it.start_date + Duration::days(1);
                }
                if v == it.end_date || v > date(2024, 11, 15) {
                    v = it.end_date + Duration::days(1);
                }
                SheetDiff { field: "end_date", item: Some(i), sheet: SheetVal::Date(v) }
            }
            "contact_phone" => {
                let mut v;
                loop {
                    v = g.phone(rng);
                    if v != d.contact_phone && v.starts_with('1') == d.contact_phone.starts_with('1') {
                        break;
                    }
                }
                SheetDiff { field: "contact_phone", item: None, sheet: SheetVal::Text(v) }
            }
            _ => {
                let n = &d.unit_name;
                let v = if n.ends_with("有限责任公司") {
                    n.replace("有限责任公司", "有限公司")
                } else if n.ends_with("股份有限公司") {
                    n.replace("股份有限公司", "有限公司")
                } else if n.ends_with("有限公司") {
                    n.replace("有限公司", "有限责任公司")
                } else if let Some(rest) = n.strip_prefix("重庆市") {
                    format!("重庆{rest}")
                } else if let Some(rest) = n.strip_prefix("重庆") {
                    format!("重庆市{rest}")
                } else {
                    format!("重庆市{n}")
                };
                SheetDiff { field: "unit_name", item: None, sheet: SheetVal::Text(v) }
            }
        };
        let detail = match &diff.sheet {
            SheetVal::Text(s) => format!("sheet {} is `{s}`", diff.field),
            SheetVal::Int(v) => format!("sheet {} of item {} is {v}", diff.field, diff.item.unwrap() + 1),
            SheetVal::Date(v) => format!("sheet {} of item {} is {v}", diff.field, diff.item.unwrap() + 1),
        };
        d.sheet_diffs.push(diff);
        plant(Kind::Consistency, detail);
    }
    d.planted = plants;
    d
}
