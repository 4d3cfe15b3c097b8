*** Settings ***
Documentation     Hygiene recommendations end to end: plaintext MQTT, a silent device, a device that
...               accepts connections from outside its group's allowlist.
Resource          detection.resource
Test Teardown     Report Evidence
Test Tags         detection    recommendations

*** Variables ***
${ALLOW_IN}       SEPARATOR=\n
...               groups:
...               ${SPACE * 2}fleet-a:
...               ${SPACE * 4}allowlistRules:
...               ${SPACE * 6}- {ruleType: ConnectionFromIpNotAllowed, isEnabled: true, allowlistValues: [198.51.100.0/24, "2001:db8:100::/64"]}

*** Test Cases ***
Plaintext MQTT Is Flagged
    Start Detection Lab    transport=mqtt
    ${rec}=    Wait For Recommendation    IoT_PlaintextMqtt    device=${DEVICE_ID}    timeout=20
    Should Be Equal    ${rec}[evidence][transport]    mqtt

A Device On TLS Is Not Flagged For Plaintext
    Start Detection Lab
    Wait For Security Message    ${DEVICE_ID}    count=2    timeout=30
    No Recommendation Should Exist    IoT_PlaintextMqtt    device=${DEVICE_ID}

A Silent Device Is Flagged After Its Heartbeat Stops
    Privileged Lab Should Be Available
    Start Lab
    Start Back End    indicators=${MALICIOUS}    silent_after=15
    Start Device In Lab    ${DEVICE_ID}    profile=${PROFILE}
    Wait For Security Message    ${DEVICE_ID}    timeout=60
    No Recommendation Should Exist    IoT_DeviceSilent    device=${DEVICE_ID}
    Stop Device    ${DEVICE_ID}
    ${rec}=    Wait For Recommendation    IoT_DeviceSilent    device=${DEVICE_ID}    timeout=45
    Should Be Equal    ${rec}[severity]    Low

A Device Accepting Inbound Connections From Outside Its Allowlist Is Flagged
    Start Detection Lab    groups=${ALLOW_IN}    security_group=fleet-a
    Send Traffic    tcp    attacker1    ${DEVICE_ID}    dport=23    size=16    expect_echo=False    read_banner=True
    ${attacker}=    Lab Host Address    attacker1
    ${rec}=    Wait For Recommendation    IoT_InboundFromOutsideAllowlist    device=${DEVICE_ID}    timeout=${ALERT_BOUND}
    Log    ${rec}[evidence]
    Should Contain    ${{ str($rec['evidence']) }}    ${attacker}
