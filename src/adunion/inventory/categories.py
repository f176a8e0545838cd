"""Site content categories: the IAB Tech Lab Content Taxonomy 1.0 tier-1 list, with its IDs.

These are the ``cat`` values of OpenRTB 2.5 (section 5.1), which exchanges and ads.txt-aware
buyers understand. IAB24-IAB26 (uncategorized, non-standard, illegal) are blocking codes, not
categories a site can declare, so they are left out.
"""

from __future__ import annotations

CATEGORIES: dict[str, str] = {
    "IAB1": "Arts & Entertainment",
    "IAB2": "Automotive",
    "IAB3": "Business",
    "IAB4": "Careers",
    "IAB5": "Education",
    "IAB6": "Family & Parenting",
    "IAB7": "Health & Fitness",
    "IAB8": "Food & Drink",
    "IAB9": "Hobbies & Interests",
    "IAB10": "Home & Garden",
    "IAB11": "Law, Gov't & Politics",
    "IAB12": "News",
    "IAB13": "Personal Finance",
    "IAB14": "Society",
    "IAB15": "Science",
    "IAB16": "Pets",
    "IAB17": "Sports",
    "IAB18": "Style & Fashion",
    "IAB19": "Technology & Computing",
    "IAB20": "Travel",
    "IAB21": "Real Estate",
    "IAB22": "Shopping",
    "IAB23": "Religion & Spirituality",
}


def category_name(value: str) -> str:
    return CATEGORIES.get(value, value)
