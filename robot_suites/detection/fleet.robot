*** Settings ***
Documentation     A fleet in two security groups: the same traffic raises the custom alert for the
...               group whose allowlist excludes the peer, and not for the other.
Resource          detection.resource
Test Tags         detection    fleet

*** Variables ***
${GROUPS}         SEPARATOR=\n
...               groups:
...               ${SPACE * 2}strict:
...               ${SPACE * 4}allowlistRules:
...               ${SPACE * 6}- {ruleType: ConnectionToIpNotAllowed, isEnabled: true, allowlistValues: [192.0.2.0/24, 198.51.100.0/24, "fe80::/10", "ff00::/8", "2001:db8:1::/64"]}
...               ${SPACE * 2}relaxed:
...               ${SPACE * 4}allowlistRules:
...               ${SPACE * 6}- {ruleType: ConnectionToIpNotAllowed, isEnabled: true, allowlistValues: [192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, "fe80::/10", "ff00::/8", "2001:db8:1::/64"]}

*** Test Cases ***
Two Groups React Differently To The Same Traffic
    Privileged Lab Should Be Available
    Start Lab
    Start Back End    indicators=${MALICIOUS}    groups=${GROUPS}
    &{fleet}=    Create Dictionary    strict-1=strict    strict-2=strict    relaxed-1=relaxed    relaxed-2=relaxed
    FOR    ${id}    ${group}    IN    &{fleet}
        Start Device In Lab    ${id}    profile=${PROFILE}    security_group=${group}    telemetry_interval=0
    END
    ${c2}=    Lab Host Address    c2
    FOR    ${id}    IN    @{fleet}
        Wait For Security Message    ${id}    timeout=60
        Execute Command On Device    tcp connect ${c2} 4444    device=${id}
    END
    FOR    ${id}    IN    strict-1    strict-2
        ${alert}=    Wait For Alert    IoT_CA_ConnectionToIpNotAllowed    device=${id}    peer=${c2}    timeout=${ALERT_BOUND}
        Should Be Equal    ${alert}[group]    strict
    END
    FOR    ${id}    IN    @{fleet}
        Wait For Alert    ${TI}    device=${id}    peer=${c2}    timeout=${ALERT_BOUND}
    END
    FOR    ${id}    IN    relaxed-1    relaxed-2
        No Alert Should Be Raised    IoT_CA_ConnectionToIpNotAllowed    device=${id}    period=3
    END
    [Teardown]    Log Alerts
