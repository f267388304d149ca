MANAGER_GROUP = 'cloudstamp_sign.group_cloudstamp_manager'


def force_own_user(env, vals_list):
    """A sender's records (sends, templates, bulk sends) are their own: only
    CloudStamp administrators and the workflow make one in someone else's name."""
    if not env.su and not env.user.has_group(MANAGER_GROUP):
        for vals in vals_list:
            vals['user_id'] = env.uid
