"""What the demo's cases are about: four use cases of escalation management (the
reference text's IT service management, customer billing disputes, security incidents and
HR grievances), each with its own category, teams at every level, people, knowledge
articles and case stories whose handoffs, approvals and resolutions fit the case."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Story:
    title: str
    description: str
    steps_tried: str
    impact: str  # the customer impact a handoff states
    resolution: str
    impact_level: int = 2  # 1 high .. 3 low
    urgency: int = 2
    approval: tuple[str, int, str] | None = None  # kind, amount (0: none), what is asked
    article: str = ""  # the knowledge article consulted (title), if any
    jump: tuple[str, str] | None = None  # (the level jumped to, why the jump is justified)


@dataclass(frozen=True)
class Domain:
    key: str
    category: tuple[str, str]  # code, name
    path: str
    teams: dict[str, str]  # level code -> team name
    staff: dict[str, list[str]]  # level code -> usernames (first: the one the team page shows first)
    requester_domain: str
    requesters: list[str]
    articles: list[tuple[str, str]]  # title, body
    stories: list[Story] = field(default_factory=list)
    pause_reason: str = "Asked the requester for details"
    customer_reply: str = "Here are the details you asked for."  # no file: the demo attaches none


IT = Domain(
    key="it",
    category=("it-incident", "IT service incident"),
    path="IT service management ladder",
    teams={
        "L1": "IT Service Desk",
        "L2": "IT Infrastructure",
        "L3": "IT Platform Engineering",
        "L4": "IT Architecture",
        "EXEC": "CIO Office",
    },
    staff={"L1": ["agent", "priya"], "L2": ["specialist", "marco"], "L3": ["senior", "lena"], "L4": ["tomasz"]},
    requester_domain="staff.demo.example",
    requesters=["Dana Berg", "Oskar Lind", "Mia Novak", "Paul Schmid", "Rita Costa", "Sven Olsen", "Tara Quinn"],
    articles=[
        ("VPN drops every few minutes", "Update the VPN client to 5.2 and disable IPv6 on the tunnel adapter."),
        ("Mail rejects large attachments", "The gateway limit is 25 MB; share larger files through the file portal."),
        ("Printer queue stuck", "Restart the spooler on the print server, then clear jobs older than an hour."),
        ("Shared calendar empty after update", "Re-grant the calendar delegate role; the update dropped it."),
    ],
    stories=[
        Story(
            "VPN keeps disconnecting for the Berlin office",
            "Remote staff in Berlin lose the VPN tunnel every ten minutes since Tuesday.",
            "Restarted the client, reinstalled it, checked the status page.",
            "40 people work offline; sales calls drop mid-conversation.",
            "The Berlin concentrator ran an old firmware; upgraded it and the tunnels stay up.",
            1,
            2,
            article="VPN drops every few minutes",
        ),
        Story(
            "Mail server rejects large attachments",
            "Messages over 10 MB bounce with 552 since the gateway change.",
            "Checked the user's quota and the client settings; sent a test message.",
            "Contracts cannot be sent to customers by mail.",
            "The gateway limit had been reset to 10 MB by the change; restored 25 MB.",
            2,
            2,
            article="Mail rejects large attachments",
        ),
        Story(
            "Cannot print invoices on floor 3",
            "The floor 3 printer shows error 42 and jobs stay in the queue.",
            "Power-cycled the printer, cleared the local queue.",
            "Accounts cannot print the daily invoice run.",
            "Cleared the stuck spooler on the print server and replaced the fuser unit.",
            3,
            2,
            approval=("spend", 420, "Replace the fuser unit of the floor 3 printer"),
            article="Printer queue stuck",
        ),
        Story(
            "Warehouse scanners lose Wi-Fi",
            "Handheld scanners in the warehouse drop off the Wi-Fi several times an hour.",
            "Rebooted two access points, checked the scanner firmware.",
            "Picking slows down; outgoing orders are late.",
            "Two access points ran on the same channel; re-planned the channels and added one access point.",
            2,
            1,
            approval=("spend", 2800, "Two additional access points for the warehouse"),
        ),
        Story(
            "ERP database slow at month end",
            "Month-end closing reports time out after 30 seconds in the ERP.",
            "Checked the report filters, cleared the user's cache, reproduced it on a second account.",
            "Finance cannot close the month on time.",
            "A missing index on the ledger table; added it during the maintenance window.",
            1,
            1,
            approval=("policy_exception", 0, "Add the index outside the change window"),
        ),
        Story(
            "Shared calendar shows nothing since the update",
            "The team calendar is empty for everyone since Monday's client update.",
            "Checked the sharing settings and another browser.",
            "A team of 12 cannot see appointments.",
            "The update dropped the delegate role; re-granted it for the team.",
            3,
            3,
            article="Shared calendar empty after update",
        ),
        Story(
            "Storage cluster degraded in the data centre",
            "The primary storage cluster reports a degraded array and rising latency.",
            "Checked the monitoring dashboards and the last change record.",
            "Every internal application slows down; a second disk failure would stop them.",
            "Replaced two failed disks and rebalanced the array; latency back to normal.",
            1,
            1,
            approval=("spend", 18500, "Emergency replacement disks and vendor engineer on site"),
            jump=(
                "L3",
                "Storage loss threatens every system; platform engineering must look now, not after L2 triage.",
            ),
        ),
        Story(
            "New laptop for a starter not ready",
            "A new hire starts Monday and the laptop is not imaged.",
            "Checked the order status and the imaging queue.",
            "One person cannot work on the first day.",
            "Imaged a spare laptop from stock and handed it over.",
            3,
            2,
        ),
    ],
    pause_reason="Asked the requester to confirm the details and when we can reach them",
    customer_reply="Details confirmed; I am at my desk after 14:00 today.",
)

BILLING = Domain(
    key="billing",
    category=("billing-dispute", "Customer billing dispute"),
    path="Billing dispute ladder",
    teams={
        "L1": "Customer Care",
        "L2": "Billing Specialists",
        "L3": "Finance Operations",
        "L4": "Revenue Assurance",
        "EXEC": "CFO Office",
    },
    staff={"L1": ["agent2", "jonas"], "L2": ["aisha", "ben"], "L3": ["carla", "dmitri"], "L4": ["elena"]},
    requester_domain="customer.demo.example",
    requesters=["Acme GmbH", "Birch & Sons", "Cobalt Retail", "Delta Clinics", "Emerald Foods", "Fjord Logistics"],
    articles=[
        ("Refunding a double charge", "Check the payment log for two captures; refund the second within 5 days."),
        ("Disputed late fee", "Waive a first late fee when the customer paid within 7 days of the due date."),
        ("Tariff change not applied", "Re-rate the invoice from the tariff change date; credit the difference."),
    ],
    stories=[
        Story(
            "Charged twice for the October invoice",
            "The customer's card was charged twice for invoice 2026-1044.",
            "Checked the payment log: two captures 3 minutes apart.",
            "The customer is out of pocket and threatens to cancel.",
            "Refunded the duplicate capture; the customer confirmed receipt.",
            2,
            2,
            approval=("spend", 640, "Refund the duplicate capture of invoice 2026-1044"),
            article="Refunding a double charge",
        ),
        Story(
            "Late fee disputed after a bank holiday",
            "The customer paid one day late because of a bank holiday and disputes the late fee.",
            "Checked the payment date and the account history: first late payment in 4 years.",
            "A loyal customer is unhappy about a fee.",
            "Waived the late fee as a goodwill gesture under the first-late-fee policy.",
            3,
            3,
            approval=("policy_exception", 0, "Waive the late fee outside the 7-day rule"),
            article="Disputed late fee",
        ),
        Story(
            "Tariff change not applied for three months",
            "The customer moved to the business tariff in July but was billed the old rate since.",
            "Compared the contract change with the rating records.",
            "The customer overpaid for three months.",
            "Re-rated three invoices and credited the difference.",
            2,
            2,
            approval=("spend", 4300, "Credit the overbilled difference for July to September"),
            article="Tariff change not applied",
        ),
        Story(
            "Enterprise customer disputes the annual licence invoice",
            "The annual invoice counts 400 seats; the customer's contract caps them at 250.",
            "Checked the seat count report and the signed contract.",
            "A key account withholds payment for the whole invoice.",
            "Corrected the seat count to the contract cap and issued a credit note.",
            1,
            2,
            approval=("spend", 38000, "Credit note for 150 seats over the contract cap"),
            jump=("L4", "Key account withholding a six-figure invoice; Revenue Assurance must decide on the credit."),
        ),
        Story(
            "Direct debit failed, service suspended",
            "The direct debit failed after a bank change and the service was suspended automatically.",
            "Confirmed the new bank details and the failed collection.",
            "The customer's shop cannot take orders.",
            "Restored the service, collected by card and updated the mandate.",
            1,
            1,
        ),
        Story(
            "Wrong VAT rate on invoices",
            "Invoices since the move show 19 % VAT instead of the reduced rate.",
            "Checked the customer's tax classification.",
            "The customer cannot reclaim the tax correctly.",
            "Corrected the tax classification and reissued the invoices.",
            2,
            3,
            approval=("spend", 1200, "Credit the VAT difference on four invoices"),
        ),
        Story(
            "Class complaint about roaming charges",
            "A consumer group complains about roaming charges billed to 300 customers.",
            "Collected the affected accounts and the roaming records.",
            "Press coverage and a regulator enquiry are likely.",
            "Refunded all affected customers and fixed the roaming zone table.",
            1,
            1,
            approval=("spend", 145000, "Refund roaming charges for 300 customers"),
        ),
    ],
    pause_reason="Asked the customer for the invoice number and the account it concerns",
    customer_reply="It is about our main customer account; the invoice number is on the last invoice we got.",
)

SECURITY = Domain(
    key="security",
    category=("security-incident", "Security incident"),
    path="Security incident response ladder",
    teams={
        "L1": "Security Operations Centre",
        "L2": "Incident Response",
        "L3": "Threat Intelligence and Forensics",
        "L4": "CISO Office",
        "EXEC": "Executive Crisis Team",
    },
    staff={"L1": ["farid", "grace"], "L2": ["hiro", "nadia"], "L3": ["ines"], "L4": ["expert", "jamal"]},
    requester_domain="staff.demo.example",
    requesters=["Dana Berg", "Oskar Lind", "Mia Novak", "Paul Schmid", "Rita Costa", "Sven Olsen", "Tara Quinn"],
    articles=[
        ("Reported phishing e-mail", "Pull the message from all mailboxes, block the sender, reset clicked accounts."),
        ("Lost or stolen laptop", "Lock the device remotely, revoke its certificates, rotate the user's passwords."),
        ("Suspicious sign-ins", "Force sign-out, reset the password and MFA, review the sign-in log for 30 days."),
    ],
    stories=[
        Story(
            "Phishing e-mail reported by finance",
            "Several people in finance received a fake invoice mail with a login link; one clicked it.",
            "Blocked the sender and pulled the message from the mailboxes.",
            "One account may be compromised.",
            "Reset the clicked account, confirmed no sign-ins from the phishing site, briefed finance.",
            2,
            1,
            article="Reported phishing e-mail",
        ),
        Story(
            "Laptop stolen from a car",
            "A sales laptop was stolen from a car; the disk is encrypted.",
            "Locked the device remotely and revoked its certificates.",
            "Possible exposure of customer contact data.",
            "Device wiped on next check-in attempt; passwords rotated; no data access seen.",
            2,
            1,
            article="Lost or stolen laptop",
        ),
        Story(
            "Sign-ins from an unknown country",
            "An admin account shows sign-ins from an unknown country at night.",
            "Forced sign-out of all sessions.",
            "An administrator account may be in an attacker's hands.",
            "Credential stuffing with a reused password; reset, enforced MFA, no changes made by the attacker.",
            1,
            1,
            article="Suspicious sign-ins",
            jump=("L4", "An administrator account is at stake; the CISO office must decide on containment now."),
        ),
        Story(
            "Malware alert on a build server",
            "The endpoint agent flags a miner on a build server.",
            "Isolated the server from the network.",
            "Builds are stopped; the supply chain may be affected.",
            "Removed the miner, rebuilt the server from a clean image, rotated build secrets.",
            1,
            2,
            approval=("spend", 9000, "External forensics for the build server image"),
        ),
        Story(
            "Possible data leak in a public bucket",
            "A researcher reports a storage bucket with customer exports readable from the internet.",
            "Confirmed the bucket is public and contains exports.",
            "Personal data of customers may be exposed; a notification duty may apply.",
            "Closed the bucket, logged who accessed it, and notified the regulator within 72 hours.",
            1,
            1,
            approval=("spend", 60000, "Outside counsel and notification service for affected customers"),
        ),
        Story(
            "Ransomware encrypting the file servers",
            "Files on two file servers are being renamed to .lock and a ransom note appeared.",
            "Isolated both servers, disabled the service account that wrote the files.",
            "Every department loses access to shared files; backups must be checked.",
            "Restored both servers from the last clean backup, closed the RDP gateway used to get in.",
            1,
            1,
            approval=("major_incident", 0, "Declare a major incident: ransomware spreading on the file servers"),
        ),
        Story(
            "Badge used after hours in the server room",
            "A contractor's badge opened the server room at 02:10.",
            "Checked the badge log and the camera recording.",
            "Unauthorised physical access to servers is possible.",
            "The contractor had an approved night change; the approval was missing in the access system.",
            3,
            2,
        ),
    ],
    pause_reason="Asked the reporter for the exact time and what they saw",
    customer_reply="It was around 09:10; I saw what I described and nothing since.",
)

HR = Domain(
    key="hr",
    category=("hr-grievance", "HR grievance"),
    path="HR grievance ladder",
    teams={
        "L1": "HR Helpdesk",
        "L2": "HR Business Partners",
        "L3": "Employee Relations",
        "L4": "HR Director's Office",
        "EXEC": "Chief People Officer",
    },
    staff={"L1": ["kim", "luis"], "L2": ["maya", "omar"], "L3": ["noah"], "L4": ["olga"]},
    requester_domain="people.demo.example",
    requesters=["Anna Weber", "Ben Okafor", "Chloe Martin", "David Kim", "Eva Rossi", "Felix Braun"],
    articles=[
        ("Overtime not paid", "Check the time records against the payroll run; correct in the next payroll."),
        ("Raising a grievance", "Acknowledge within 2 days, meet within 10, decide in writing."),
        ("Schedule conflicts", "Swap requests go through the team lead; HR mediates after two refusals."),
    ],
    stories=[
        Story(
            "Overtime not paid for October",
            "An employee's 14 overtime hours in October are missing from the payslip.",
            "Compared the time records with the payslip.",
            "The employee is short of pay this month.",
            "Payroll corrected the overtime in an off-cycle payment.",
            3,
            2,
            approval=("spend", 560, "Off-cycle payment of 14 overtime hours"),
            article="Overtime not paid",
        ),
        Story(
            "Grievance about a manager's conduct",
            "An employee reports repeated public criticism by their manager.",
            "Acknowledged the grievance and explained the process.",
            "The employee is on the verge of resigning.",
            "Investigation upheld part of the grievance; mediation and coaching agreed.",
            2,
            2,
            article="Raising a grievance",
        ),
        Story(
            "Shift schedule conflict in the warehouse",
            "Two shift leads disagree over weekend rotations; staff get conflicting rosters.",
            "Spoke to both leads; the conflict remains.",
            "Staff do not know when to work.",
            "HR mediated a fixed rotation agreed by both leads.",
            3,
            2,
            article="Schedule conflicts",
        ),
        Story(
            "Request for remote work outside the policy",
            "An employee asks to work from abroad for three months to care for a parent.",
            "Checked the remote work policy: the limit is four weeks abroad.",
            "Without an exception the employee would take unpaid leave.",
            "Exception granted for three months with a tax check.",
            3,
            3,
            approval=("policy_exception", 0, "Remote work abroad beyond the four-week limit"),
        ),
        Story(
            "Harassment complaint in the sales team",
            "Two employees report harassment by a colleague at a team event.",
            "Acknowledged, separated the people involved, secured messages.",
            "A safe workplace is at stake; legal risk for the company.",
            "Investigation concluded; disciplinary measures taken and training scheduled.",
            1,
            1,
            jump=("L3", "A harassment complaint goes straight to Employee Relations under the policy."),
        ),
        Story(
            "Settlement of an unfair dismissal claim",
            "A former employee claims unfair dismissal and offers to settle.",
            "Collected the dismissal file and the claim.",
            "A tribunal case with costs and publicity is likely.",
            "Settled with a confidentiality agreement.",
            2,
            2,
            approval=("spend", 24000, "Settlement payment of the dismissal claim"),
        ),
    ],
    pause_reason="Asked the employee for the dates and the people involved",
    customer_reply="It happened on the 4th and the 11th; my team lead was present both times.",
)

DOMAINS = [IT, BILLING, SECURITY, HR]
