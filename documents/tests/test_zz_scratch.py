import json
from django.core.files.uploadedfile import SimpleUploadedFile
PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"

def test_explore(alice, bob, world):
    r = alice.client.post("/api/v1/documents", {"file": SimpleUploadedFile("q.pdf", PDF, content_type=None), "title": "Quote", "contact_ids": [world["carol"]], "deal_id": world["deal"]})
    print(r.status_code, json.dumps(r.json(), indent=1))
    r2 = alice.client.post("/api/v1/documents", {"file": SimpleUploadedFile("n.pdf", PDF, content_type=None), "contact_ids": [world["carol"]]})
    r3 = alice.client.post("/api/v1/documents", {"file": SimpleUploadedFile("o.pdf", PDF, content_type=None), "organization_ids": [world["org"]]})
    r4 = alice.client.post("/api/v1/documents", {"file": SimpleUploadedFile("o.pdf", PDF, content_type=None), "contact_ids": [world["dave"]]})
    print(r2.status_code, r3.status_code, r4.status_code)
    for kind, rid in (("deals", world["deal"]), ("contacts", world["carol"]), ("organizations", world["org"])):
        print(kind, [(i["document"]["filename"], i["path"], i["contact_id"], i["organization_id"], i["deal_id"]) for i in alice.get(f"{kind}/{rid}/documents").json()["items"]])
    print(json.dumps(alice.get(f"organizations/{world['org']}/timeline", kinds="document").json(), indent=1)[:3000])
    print(alice.get(f"contacts/{world['carol']}").json())
    d = alice.client.get(r.json()["download_url"])
    print(d.status_code, dict(d.headers))
    print(alice.client.post("/api/v1/documents", {"title": "x"}).json())
