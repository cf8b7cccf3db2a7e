"""The functional core: touches in; journeys, lead SLA breaches and credits out. No I/O, no clock."""
