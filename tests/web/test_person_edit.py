"""The Scrum master corrects a person's name and e-mail on their page; an edit made on top
of someone else's unseen change is refused with theirs shown and what was typed kept; a bad
e-mail is named beside its field; nobody else can change people."""

from accounts.models import User


def _url(person) -> str:
    return f"/people/{person.username}/edit/"


def _form(person, **typed) -> dict:
    seen = {
        "first_name": person.first_name,
        "last_name": person.last_name,
        "email": person.email,
    }
    return {**seen, **{f"seen_{k}": v for k, v in seen.items()}, **typed}


def test_the_scrum_master_corrects_a_name_and_the_people_page_shows_it(scenario, client):
    person = scenario.users["lab_member"]
    client.force_login(scenario.users["sm"])
    assert client.get(_url(person)).status_code == 200

    answer = client.post(_url(person), _form(person, first_name="Ana", last_name="López"))

    assert answer.status_code == 302 and answer["Location"] == "/people/"
    person.refresh_from_db()
    assert (person.first_name, person.last_name) == ("Ana", "López")
    assert "Ana López" in client.get("/people/").content.decode()


def test_an_edit_on_top_of_an_unseen_change_is_refused_and_keeps_what_was_typed(scenario, client):
    person = scenario.users["lab_member"]
    client.force_login(scenario.users["sm"])
    seen = _form(person)
    client.post(_url(person), {**seen, "first_name": "Theirs"})

    answer = client.post(_url(person), {**seen, "first_name": "Mine"})

    html = answer.content.decode()
    assert answer.status_code == 409
    assert "Someone else changed" in html and "Theirs" in html and 'value="Mine"' in html
    assert User.objects.get(pk=person.pk).first_name == "Theirs"
    assert 'name="seen_first_name" value="Theirs"' in html  # saving again applies mine
    again = client.post(_url(person), {**seen, "first_name": "Mine", "seen_first_name": "Theirs"})
    assert again.status_code == 302 and User.objects.get(pk=person.pk).first_name == "Mine"


def test_a_bad_email_is_named_beside_the_field_and_nothing_changes(scenario, client):
    person = scenario.users["lab_member"]
    client.force_login(scenario.users["sm"])

    answer = client.post(_url(person), _form(person, email="not-an-address", first_name="X"))

    assert answer.status_code == 400
    assert "is not an email address" in answer.content.decode()
    assert User.objects.get(pk=person.pk).first_name == person.first_name


def test_only_the_scrum_master_changes_people(scenario, client):
    person = scenario.users["lab_member"]
    client.force_login(scenario.users["lab_lead"])

    answer = client.post(_url(person), _form(person, first_name="Hijacked"))

    assert answer.status_code == 403
    assert User.objects.get(pk=person.pk).first_name != "Hijacked"
