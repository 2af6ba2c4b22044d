"""Demo documents for touchpoints.demo, uploaded and shared through
documents.services (the widget's and the API's path), dated over the last
months like the rest of the demo's history."""
from __future__ import annotations

import random
from datetime import datetime, timedelta

from accounts.models import User
from crm.models import Contact, DealContact
from documents.services import Upload, do_upload_document

TITLES = ("Proposal", "Quote", "Master services agreement (draft)", "Order form", "Implementation plan", "Signed NDA", "Product datasheet")


def _pdf(text: str) -> bytes:
    """A small, real one-page PDF (its bytes say it is one)."""
    stream = f"BT /F1 18 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = b"%PDF-1.4\n"
    offsets = []
    for i, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode() + b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer << /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return out


def demo_documents(rng: random.Random, rep: User, contact_ids: list[int], anchor: datetime) -> int:
    """Documents the rep shared: one or two PDFs on each of their first five
    deals, with one of its contacts, in the deal's context while it was
    open; and a price list with the organization of one of ``contact_ids``.
    Returns how many touchpoints (shares) they made."""
    made = 0
    # A contact on each of the rep's first five deals (one per deal; cases.demo files cases for the same).
    firsts = {}
    for link in DealContact.objects.filter(deal__owner=rep).select_related("deal").order_by("deal_id", "id"):
        firsts.setdefault(link.deal_id, link)
    for link in list(firsts.values())[:5]:
        deal = link.deal
        start = max(deal.created_at, anchor - timedelta(days=180))
        end = min(deal.closed_at or anchor, anchor - timedelta(hours=1))
        if end <= start:
            continue
        for kind in rng.sample(TITLES, rng.randint(1, 2)):
            title = f"{kind} – {deal.name}"
            when = start + (end - start) * rng.random()
            do_upload_document(rep, Upload(_pdf(title), f"{title}.pdf"), title=title, contact_ids=[link.contact_id], deal_id=deal.id, shared_at=when)
            made += 1
    contact = Contact.objects.filter(id__in=contact_ids, organization__isnull=False).order_by("id").first()
    if contact is not None:
        prices = b"Name,Price\nStarter,49\nTeam,199\nEnterprise,999\n"
        do_upload_document(rep, Upload(prices, "price-list.csv"), title="Price list (CSV)", organization_ids=[contact.organization_id], shared_at=anchor - timedelta(days=rng.randint(3, 60)))
        made += 1
    return made
