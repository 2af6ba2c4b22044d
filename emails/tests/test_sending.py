from emails.tests.smtpserver import smtp_server, closed_smtp_port  # noqa: F401
import time

def test_proto(alice_mail, world, smtp_server):
    t=time.time()
    r = alice_mail.post("emails/send", {"to": ["carol@grasspods.example"], "cc": ["erin@partner.example"], "bcc": ["boss@grasspods.example"], "subject": "Hi {{ first_name }}", "body_text": "Hello {{ first_name }}\nSee https://example.com/a?x=1&y=2 ok"})
    print(r.status_code, r.json(), time.time()-t)
    for m in smtp_server.messages:
        print(m.mail_from, m.rcpt_tos)
        print(m.content.decode()[:3000])
        print(m.images(), m.links())
    print(alice_mail.get(f"emails/{r.json()['email_id']}").json())
