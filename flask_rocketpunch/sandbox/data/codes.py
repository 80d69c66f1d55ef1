"""The code catalogs of ``/api/v1/codes/*``: ``(code, Korean label,
English label, Korean description, English description)``. Korean is the
provider's default language."""

from __future__ import annotations

Code = tuple[str, str, str, str, str]

SENIORITIES: tuple[Code, ...] = (
    (
        "BEGINNER",
        "신입",
        "Entry level",
        "인턴 또는 경력 없음",
        "Intern or no professional experience",
    ),
    ("JUNIOR", "주니어", "Junior", "1-3년 경력", "1-3 years of experience"),
    ("MIDLEVEL", "미드레벨", "Mid-level", "3-7년 경력", "3-7 years of experience"),
    ("SENIOR", "시니어", "Senior", "7-15년 경력", "7-15 years of experience"),
    ("EXECUTIVE", "C레벨", "C-level", "15년 이상 경력", "15+ years of experience"),
)
EMPLOYMENT_TYPES: tuple[Code, ...] = (
    ("FULL_TIME", "정규직", "Full-time", "", ""),
    ("FIXED_TERM", "계약직", "Fixed-term", "", ""),
    ("COMMISSIONED", "위촉직", "Commissioned", "", ""),
    ("INTERN", "인턴/수습", "Intern / probationary", "", ""),
    ("FREELANCER", "프리랜서", "Freelance", "", ""),
    ("SELF_EMPLOYED", "개인사업자", "Self-employed / sole proprietor", "", ""),
)
JOB_CATEGORIES: tuple[Code, ...] = (
    ("DEVELOPER", "개발", "Engineering", "소프트웨어 개발", "Software engineering"),
    ("DESIGNER", "디자인", "Design", "제품/브랜드 디자인", "Product and brand design"),
    ("MARKETING", "마케팅", "Marketing", "", ""),
    ("SERVICE", "서비스", "Service", "고객 응대", "Customer-facing roles"),
)
EVENT_CATEGORIES: tuple[Code, ...] = (
    ("MARKET", "팝업 스토어", "Pop-up store", "기간 한정 행사", "Limited-time event"),
    ("FAIR", "박람회", "Fair", "박람회/전시", "Fair / exhibition"),
    (
        "CONFERENCE",
        "컨퍼런스",
        "Conference",
        "강연/세미나/포럼",
        "Talk / seminar / forum",
    ),
    ("NETWORKING", "네트워킹", "Networking", "밋업/멘토링", "Meetup / mentoring"),
    ("BUSINESS", "비즈니스", "Business", "IR/런칭데이", "IR / launch day"),
    ("COMPETITION", "공모전", "Competition", "해커톤/경진대회", "Hackathon / contest"),
    (
        "LIFESTYLE",
        "라이프스타일",
        "Lifestyle",
        "축제/공연/문화",
        "Festival / performance / culture",
    ),
)
EVENT_SUBJECTS: tuple[Code, ...] = (
    ("WEB3", "웹3", "Web3", "블록체인/가상자산", "Blockchain / cryptocurrency"),
    (
        "TECHNOLOGY",
        "기술",
        "Technology",
        "AI/엔지니어링/연구",
        "AI / engineering / research",
    ),
    (
        "PRODUCT",
        "프로덕트",
        "Product",
        "서비스/기획/디자인/마케팅",
        "Service / planning / design / marketing",
    ),
    ("FINANCE", "금융", "Finance", "자산/투자/핀테크", "Assets / investment / fintech"),
    (
        "HUMANITIES",
        "인문",
        "Humanities",
        "사회/기후/생명/종교",
        "Society / climate / life sciences",
    ),
    (
        "BUSINESS",
        "비즈니스",
        "Business",
        "전략/조직/HR/영업",
        "Strategy / organization / HR / sales",
    ),
    (
        "CULTURE",
        "문화",
        "Culture",
        "게임/콘텐츠/예술/미디어",
        "Games / content / art / media",
    ),
)
#: ``(code, Korean label, English label, children)``, three levels deep.
JOB_INDUSTRIES: tuple[tuple[str, str, str, tuple[object, ...]], ...] = (
    (
        "1000",
        "IT/웹/통신",
        "IT / web / communications",
        (
            ("1100", "소프트웨어", "Software", (("1110", "SaaS", "SaaS", ()),)),
            ("1200", "통신", "Telecommunications", ()),
        ),
    ),
    ("2000", "제조", "Manufacturing", (("2100", "로봇", "Robotics", ()),)),
    ("3000", "식음료", "Food and beverage", ()),
)
