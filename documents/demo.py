"""Demo documents for touchpoints.demo, uploaded and shared through
documents.services (the widget's and the API's path)."""
from __future__ import annotations

import random

from accounts.models import User
from crm.models import Contact, DealContact
from documents.services import Upload, do_upload_document

TITLES = ("Price list 2026", "Proposal", "Signed contract", "Product brochure", "Implementation plan")


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


def demo_documents(rng: random.Random, rep: User, contact_ids: list[int]) -> int:
    """Two documents per rep: one shared with a contact in the context of
    one of their deals, one with the contact's organization. Returns how
    many touchpoints (shares) they made."""
    made = 0
    links = list(DealContact.objects.filter(contact_id__in=contact_ids).select_related("deal", "contact").order_by("id")[:1])
    for link in links:
        title = rng.choice(TITLES)
        do_upload_document(rep, Upload(_pdf(f"{title} for {link.deal.name}"), f"{title}.pdf"), title=title, contact_ids=[link.contact_id], deal_id=link.deal_id)
        made += 1
    contact = Contact.objects.filter(id__in=contact_ids, organization__isnull=False).order_by("id").first()
    if contact is not None:
        notes = "Name,Price\nStarter,49\nTeam,199\nEnterprise,999\n".encode()
        do_upload_document(rep, Upload(notes, "price-list.csv"), title="Price list (CSV)", organization_ids=[contact.organization_id])
        made += 1
    return made
