"""Alerts beyond the control room: the gallery's speakers, strobes and guard radios (MQTT topic
or webhook), and the supervisor's page. See `router.py` for the flow and the threads.

    from console.alerts.router import AlarmChanges, AlertNotice, AlertRouter

    router = AlertRouter(site, clock, audit_log=store, report=on_outcome, listener=on_notice)
    router.start()
    router.alarm_changed(alarm, "escalated")            # the core thread
    router.control_room_event("operator_check_unanswered", "nobody answered ...")
    router.delivered(outcome)                            # the core thread, from on_outcome
    router.stop()

Modules: `config.py` (what is configured, what goes nowhere, the transports), `places.py` (an
alarm's zones), `transports.py` (MQTT publish, webhook POST), `delivery.py` (the delivery
threads: retries with back-off), `router.py` (routes, payloads, audit, notices). Nothing is
re-exported here, so `nightwatch check` (which reads `config.route_warnings`) stays light.
"""
