//! 民族 by its GB 3304 code, as printed on the card (汉, not 汉族).

const NATIONS: [(&str, &str); 58] = [
    ("01", "汉"),
    ("02", "蒙古"),
    ("03", "回"),
    ("04", "藏"),
    ("05", "维吾尔"),
    ("06", "苗"),
    ("07", "彝"),
    ("08", "壮"),
    ("09", "布依"),
    ("10", "朝鲜"),
    ("11", "满"),
    ("12", "侗"),
    ("13", "瑶"),
    ("14", "白"),
    ("15", "土家"),
    ("16", "哈尼"),
    ("17", "哈萨克"),
    ("18", "傣"),
    ("19", "黎"),
    ("20", "傈僳"),
    ("21", "佤"),
    ("22", "畲"),
    ("23", "高山"),
    ("24", "拉祜"),
    ("25", "水"),
    ("26", "东乡"),
    ("27", "纳西"),
    ("28", "景颇"),
    ("29", "柯尔克孜"),
    ("30", "土"),
    ("31", "达斡尔"),
    ("32", "仫佬"),
    ("33", "羌"),
    ("34", "布朗"),
    ("35", "撒拉"),
    ("36", "毛南"),
    ("37", "仡佬"),
    ("38", "锡伯"),
    ("39", "阿昌"),
    ("40", "普米"),
    ("41", "塔吉克"),
    ("42", "怒"),
    ("43", "乌孜别克"),
    ("44", "俄罗斯"),
    ("45", "鄂温克"),
    ("46", "德昂"),
    ("47", "保安"),
    ("48", "裕固"),
    ("49", "京"),
    ("50", "塔塔尔"),
    ("51", "独龙"),
    ("52", "鄂伦春"),
    ("53", "赫哲"),
    ("54", "门巴"),
    ("55", "珞巴"),
    ("56", "基诺"),
    ("97", "其他"),
    ("98", "外国血统中国籍人士"),
];

/// The name of a two-digit GB 3304 code; `None` for a code not in the standard.
pub fn nation_name(code: &str) -> Option<&'static str> {
    NATIONS.iter().find(|(c, _)| *c == code).map(|(_, n)| *n)
}

/// The code of a name, with or without 族 (汉, 汉族); `None` when unknown.
pub fn nation_code(name: &str) -> Option<&'static str> {
    let name = name.trim();
    let bare = name.strip_suffix('族').unwrap_or(name);
    NATIONS
        .iter()
        .find(|(_, n)| *n == name || *n == bare)
        .map(|(c, _)| *c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_names() {
        assert_eq!(nation_name("01"), Some("汉"));
        assert_eq!(nation_name("05"), Some("维吾尔"));
        assert_eq!(nation_name("56"), Some("基诺"));
        assert_eq!(nation_name("98"), Some("外国血统中国籍人士"));
        assert_eq!(nation_name("57"), None);
        assert_eq!(nation_code("汉族"), Some("01"));
        assert_eq!(nation_code("蒙古"), Some("02"));
        assert_eq!(nation_code("火星"), None);
        // Every code is two digits and appears once.
        for (i, (c, _)) in NATIONS.iter().enumerate() {
            assert_eq!(c.len(), 2);
            assert!(NATIONS[i + 1..].iter().all(|(d, _)| d != c), "{c} twice");
        }
    }
}
