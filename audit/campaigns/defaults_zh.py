# ruff: noqa: RUF001, E501  (Chinese punctuation; Markdown paragraphs on one line, as Chinese has no spaces)
"""The PubMedVision template's texts in Simplified Chinese: the four criteria (by key) and the
guidelines. Stored as the campaign's and criteria's ``translations`` (see texts.py), which the
owner may change or drop; the English texts stay the primary ones."""

DEFAULT_CRITERIA_ZH = {
    "accuracy": {
        "name": "准确性",
        "question": "文本是否准确反映了图像中的医学特征和信息？",
        "anchors": {
            "5": "完全准确：每一处陈述都与图像相符。",
            "4": "基本准确：有细微的不精确之处，但不影响含义。",
            "3": "部分准确：部分陈述有误或缺乏图像依据。",
            "2": "大多不准确：主要陈述与图像不符。",
            "1": "完全不准确。",
        },
    },
    "relevance": {
        "name": "相关性",
        "question": "内容是否紧扣图像的关键医学特征，避免无关细节？",
        "anchors": {
            "5": "完全围绕图像的关键医学特征。",
            "4": "基本相关，有少量不必要的细节。",
            "3": "相关与无关内容大致各半。",
            "2": "大多与图像的关键特征无关。",
            "1": "与图像无关。",
        },
    },
    "completeness": {
        "name": "完整性",
        "question": "是否包含了所有关键的医学特征和信息？",
        "anchors": {
            "5": "涵盖全部关键特征和信息。",
            "4": "遗漏一个次要特征。",
            "3": "遗漏若干关键特征。",
            "2": "大部分关键特征缺失。",
            "1": "存在重大遗漏。",
        },
    },
    "usefulness": {
        "name": "实用性",
        "question": "对医疗决策、诊断和治疗方案的制定有多大帮助？",
        "anchors": {
            "5": "内容深入：可直接用于诊断或治疗方案的制定。",
            "4": "有用，具有一定深度。",
            "3": "有一定用处。",
            "2": "用处不大。",
            "1": "内容肤浅。",
        },
    },
}


# The expert titles: campaign_create's default ("Quality audit") and the template form's
# ("Medical image-text quality audit").
QUALITY_AUDIT_ZH = "质量评审"
PUBMEDVISION_TITLE_ZH = "医学图文质量评审"

PUBMEDVISION_GUIDELINES_ZH = """\
请按四项标准为每个条目评分，1 分（最差）至 5 分（最好），**对照图像**评判文本。您不知道文本是如何生成的，请不要猜测。

* **准确性** — 每一处陈述是否都有图像依据？
* **相关性** — 内容是否紧扣图像的关键医学特征？
* **完整性** — 关键特征是否都已涵盖？
* **实用性** — 是否有助于临床医生做出决策？

即使评分已经反映出问题，也请标记事实错误、幻觉内容和不安全的建议。只有在无法判断时才跳过条目，并说明原因。
"""
